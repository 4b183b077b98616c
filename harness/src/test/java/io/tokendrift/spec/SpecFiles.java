package io.tokendrift.spec;

import java.nio.file.Files;
import java.nio.file.Path;

/** Spec files written into a test's temporary folder, and the refusals they earn. */
public final class SpecFiles {
  private SpecFiles() {}

  public static Path write(Path dir, String yaml) throws Exception {
    Path p = dir.resolve("spec.yaml");
    Files.writeString(p, yaml);
    return p;
  }

  /** The refusal's message, with the temporary path shown as SPEC. */
  public static String refusal(Path dir, String yaml) throws Exception {
    Path p = write(dir, yaml);
    try {
      ExperimentSpec.read(p);
    } catch (SpecException e) {
      return e.getMessage().replace(p.toString(), "SPEC");
    }
    throw new AssertionError("spec was accepted:\n" + yaml);
  }
}
