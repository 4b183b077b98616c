package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every command's {@code --help}, sealed by a golden file (src/test/resources/golden/help/): a
 * change to what users read is a deliberate one. On a difference the new text is written to
 * target/golden-actual/help/ for review.
 */
class HelpSnapshotTest {
  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "explain",
        "generate",
        "bench",
        "train-tiny",
        "run",
        "merge",
        "analyze",
        "combine",
        "compare",
        "report",
        "baseline",
        "baseline record",
        "check",
        "serve",
        "export"
      })
  void helpMatchesItsSnapshot(String command) throws Exception {
    List<String> args =
        new ArrayList<>(command.isEmpty() ? List.of() : List.of(command.split(" ")));
    args.add("--help");
    ExplainCommandTest.Result r = ExplainCommandTest.run(args.toArray(String[]::new));
    assertThat(r.code()).isZero();
    String name = (command.isEmpty() ? "tokendrift" : command.replace(' ', '-')) + ".txt";
    // Each command says what it does in one whole sentence and shows an example.
    if (!command.isEmpty() && !command.equals("baseline")) {
      assertThat(r.out().lines().findFirst().orElse("")).endsWith(".");
      assertThat(r.out()).contains("Example:");
    }
    String expected = "";
    try (InputStream in = HelpSnapshotTest.class.getResourceAsStream("/golden/help/" + name)) {
      if (in != null) {
        expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
    if (!r.out().equals(expected)) {
      Path out = Path.of("target", "golden-actual", "help", name);
      Files.createDirectories(out.getParent());
      Files.writeString(out, r.out());
    }
    assertThat(r.out()).isEqualTo(expected);
  }
}
