package io.tokendrift.cli;

import static io.tokendrift.cli.ExplainCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code check --accuracy-tolerance}: a changed answer rate fails the check, within it passes. */
class AccuracyCheckTest {
  @TempDir Path dir;

  @Test
  void aConditionWhoseAccuracyMovedBeyondTheToleranceFailsTheCheck() throws Exception {
    Path spec = dir.resolve("acc.yaml");
    Files.writeString(
        spec,
        """
        name: acc
        model: bundled
        prompts:
          - id: bear
            text: "At night the sky is dark. Once upon a time there was a little"
            expect: {choices: [bear, fox], answer: bear, extract: "^ ?(\\\\w+)"}
          - id: cat
            text: "The cat sat on the"
            expect: {regex: "\\\\w"}
        decoding: {max_tokens: 3}
        """);
    Path base = dir.resolve("base");
    ExplainCommandTest.Result b =
        run("baseline", "record", spec.toString(), "--out", base.toString());
    assertThat(b.code()).as(b.err()).isZero();
    // The same model answers the same: accuracy held.
    ExplainCommandTest.Result same =
        run("check", spec.toString(), "--baseline", base.toString(), "--accuracy-tolerance", "0");
    assertThat(same.code()).as(same.out() + same.err()).isZero();
    // The baseline's recorded answer to "bear" changed to the other choice (its tokens kept): the
    // new run's accuracy at that condition now differs from the baseline's by one of two prompts.
    Path trace = base.resolve("trace.jsonl");
    List<String> lines = Files.readAllLines(trace);
    for (int i = 1; i < lines.size(); i++) {
      String l = lines.get(i);
      if (l.contains("\"prompt_id\":\"bear\"")) {
        // The other choice than the one recorded (float32 may take either at this micro-tie).
        String other = l.contains("\"text\":\" fox") ? " bear" : " fox";
        lines.set(i, l.replaceFirst("\"text\":\" [a-z]+", "\"text\":\"" + other));
      }
    }
    Files.write(trace, lines);
    ExplainCommandTest.Result moved =
        run("check", spec.toString(), "--baseline", base.toString(), "--accuracy-tolerance", "0.1");
    assertThat(moved.code()).as(moved.out() + moved.err()).isEqualTo(Main.CHANGED);
    assertThat(moved.out()).contains("Accuracy changed: ").contains("ACCURACY: ");
    ExplainCommandTest.Result within =
        run("check", spec.toString(), "--baseline", base.toString(), "--accuracy-tolerance", "0.5");
    assertThat(within.code()).as(within.out() + within.err()).isZero();
    // Without the option, accuracy is not checked.
    assertThat(run("check", spec.toString(), "--baseline", base.toString()).code()).isZero();
    ExplainCommandTest.Result bad =
        run("check", spec.toString(), "--baseline", base.toString(), "--accuracy-tolerance", "5");
    assertThat(bad.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(bad.err()).contains("--accuracy-tolerance (5.0) must be a share in [0, 1]");
    // A spec without expected answers cannot have its accuracy checked: bad input, not a pass.
    Path plain = dir.resolve("plain.yaml");
    Files.writeString(
        plain,
        "name: acc\nmodel: bundled\nprompts: [\"The cat sat on the\"]\ndecoding: {max_tokens: 3}\n");
    ExplainCommandTest.Result none =
        run("check", plain.toString(), "--baseline", base.toString(), "--accuracy-tolerance", "0");
    assertThat(none.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(none.err()).contains("has an expected answer (expect:)");
  }

  @Test
  void aCheckWithAFloat64PointSaysWhereTheRunStandsAgainstTheTruth() throws Exception {
    Path spec = dir.resolve("truth.yaml");
    Files.writeString(
        spec,
        "name: truth\nmodel: bundled\nprompts: [\"At night the sky is\"]\n"
            + "decoding: {max_tokens: 14}\ntruth: fp64\n");
    Path base = dir.resolve("tb");
    assertThat(run("baseline", "record", spec.toString(), "--out", base.toString()).code())
        .isZero();
    ExplainCommandTest.Result c = run("check", spec.toString(), "--baseline", base.toString());
    assertThat(c.code()).as(c.out() + c.err()).isZero();
    assertThat(c.out()).contains("Against float64 (precision=fp64):");
  }
}
