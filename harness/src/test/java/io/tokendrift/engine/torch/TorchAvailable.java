package io.tokendrift.engine.torch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Tests that need a real torch worker: Debian's interpreter, which .ci/run gives python3-torch. */
public final class TorchAvailable {
  private TorchAvailable() {}

  /** Debian's interpreter: the one its python3-torch package installs into. */
  public static final String PYTHON = "/usr/bin/python3";

  /** Skips the calling test, with the reason, where {@link #PYTHON} cannot import torch. */
  public static void assume() throws Exception {
    boolean ok = false;
    if (Files.isExecutable(Path.of(PYTHON))) {
      Process p = new ProcessBuilder(PYTHON, "-c", "import torch").start();
      ok = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
    Assumptions.assumeTrue(
        ok, PYTHON + " cannot import torch here (apt-get install python3-torch; .ci/run does)");
  }
}
