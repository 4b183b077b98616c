package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainTinyCommandTest {
  @Test
  void refusesToWriteIntoAFolderThatHoldsFiles(@TempDir Path dir) throws Exception {
    Path keep = dir.resolve("mine.txt");
    Files.writeString(keep, "user data");
    ExplainCommandTest.Result r = ExplainCommandTest.run("train-tiny", "--out", dir.toString());
    assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(r.err())
        .contains(
            dir + ": exists and is not empty; give a new folder (a model is never overwritten)");
    assertThat(Files.readString(keep)).isEqualTo("user data");
    try (var s = Files.list(dir)) {
      assertThat(s.toList()).containsExactly(keep);
    }
  }

  @Test
  void refusesNonPositiveSteps(@TempDir Path dir) {
    ExplainCommandTest.Result r =
        ExplainCommandTest.run("train-tiny", "--out", dir.resolve("m").toString(), "--steps", "0");
    assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(r.err()).contains("--steps, --documents and --threads must be >= 1");
  }
}
