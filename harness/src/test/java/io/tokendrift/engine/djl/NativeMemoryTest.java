package io.tokendrift.engine.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.engine.Batch;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.TestCheckpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** 10,000 decode steps in one process leave native memory flat: no NDArray outlives its step. */
@Tag("slow")
class NativeMemoryTest {
  private static final Path STATUS = Path.of("/proc/self/status");

  @Test
  void tenThousandStepsKeepResidentMemoryFlat() throws Exception {
    Assumptions.assumeTrue(Files.isReadable(STATUS), "needs /proc/self/status (Linux) to read RSS");
    Gpt2Config c = new Gpt2Config(97, 160, 32, 2, 4, 128, 1e-5, true, 0);
    try (DjlGpt2Engine e =
        new DjlGpt2Engine(TestCheckpoints.random(c, 2), EngineOptions.DEFAULTS)) {
      int batches = 100;
      int steps = 100;
      long afterWarmUp = 0;
      for (int i = 0; i < batches; i++) {
        if (i == 10) {
          System.gc();
          afterWarmUp = rssKb();
        }
        try (Batch b = e.start(List.of(new int[] {1, 2, 3, 4}, new int[] {5, 6}))) {
          int[] tokens = new int[2];
          boolean[] active = {true, true};
          for (int s = 0; s < steps; s++) {
            Arrays.fill(tokens, (s * 7 + i) % 97);
            b.step(tokens, active);
          }
        }
      }
      System.gc();
      long end = rssKb();
      // 9,000 steps after warm-up: a leak of even one small KV array per step (2 x 4 x 100 x 8
      // floats)
      // would add over 200 MB; allocator noise stays well under 48 MB.
      assertThat(end - afterWarmUp).as("RSS growth in kB over 9,000 steps").isLessThan(48 * 1024);
    }
  }

  private static long rssKb() throws Exception {
    for (String line : Files.readAllLines(STATUS)) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS line in " + STATUS);
  }
}
