package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input and faults, each through the real CLI (in-process): the exit code, the message's key
 * words, and that no existing file changed. Exit codes: 2 bad input, 3 environment; 1 is reserved
 * for a real change and must never come from a fault.
 */
class FaultCatalogueTest {
  @TempDir Path dir;
  Path spec;
  Path baseline;

  static final String SPEC =
      "name: faults\nprompts: [\"The capital of France is\", \"The cat sat on the\"]\n"
          + "decoding: {max_tokens: 3}\naxes: {batch: {sizes: [1, 2]}}\n";

  @BeforeEach
  void recordABaseline() throws Exception {
    spec = dir.resolve("spec.yaml");
    Files.writeString(spec, SPEC);
    baseline = dir.resolve("baseline");
    var r =
        ExplainCommandTest.run("baseline", "record", spec.toString(), "--out", baseline.toString());
    assertThat(r.code()).as(r.err()).isZero();
  }

  /** SHA-256 of every file under the temp folder, to prove a refused command changed nothing. */
  private Map<String, String> files() throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        byte[] h = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
        out.put(dir.relativize(p).toString(), HexFormat.of().formatHex(h));
      }
    }
    return out;
  }

  private void refused(int code, String words, String... args) throws Exception {
    Map<String, String> before = files();
    var r = ExplainCommandTest.run(args);
    assertThat(r.code()).as(String.join(" ", args) + "\n" + r.err()).isEqualTo(code);
    assertThat(r.err()).contains(words);
    assertThat(r.err()).doesNotContain("\tat "); // one line, no stack trace
    assertThat(files()).as("no existing file changed").isEqualTo(before);
  }

  @Test
  void checkAgainstTheBaselineOfAnotherExperimentIsBadInputNotARegression() throws Exception {
    Path other = dir.resolve("other.yaml");
    Files.writeString(other, SPEC.replace("name: faults", "name: other"));
    refused(
        2,
        "was recorded from another experiment",
        "check",
        other.toString(),
        "--baseline",
        baseline.toString());
  }

  @Test
  void checkNeverOverwritesAnExistingTraceWithoutForce() throws Exception {
    refused(
        2,
        "exists; it is never replaced without --force",
        "check",
        spec.toString(),
        "--baseline",
        baseline.toString(),
        "--trace",
        baseline.resolve("trace.jsonl").toString());
  }

  @Test
  void aMissingOrCorruptManifestIsAMalformedBaseline() throws Exception {
    Path manifest = baseline.resolve("manifest.json");
    Files.writeString(manifest, "{ not json");
    refused(
        2,
        "malformed baseline: not readable JSON",
        "check",
        spec.toString(),
        "--baseline",
        baseline.toString());
    Files.delete(manifest);
    refused(
        2, "manifest.json is missing", "check", spec.toString(), "--baseline", baseline.toString());
  }

  @Test
  void aNegativeDriftToleranceIsBadInput() throws Exception {
    refused(
        2,
        "--drift-tolerance (-1.0) must be a finite number >= 0",
        "check",
        spec.toString(),
        "--baseline",
        baseline.toString(),
        "--drift-tolerance",
        "-1");
  }

  @Test
  void anUnwritableReportPathIsRefusedBeforeAnythingRuns() throws Exception {
    Path junit = dir.resolve("no-such-folder").resolve("check.xml");
    Map<String, String> before = files();
    var r =
        ExplainCommandTest.run(
            "check",
            spec.toString(),
            "--baseline",
            baseline.toString(),
            "--junit",
            junit.toString());
    assertThat(r.code()).as(r.err()).isEqualTo(3);
    assertThat(r.err()).contains("--junit").contains("does not exist");
    assertThat(r.out()).as("no verdict printed before the refusal").doesNotContain("PASS");
    assertThat(files()).isEqualTo(before);
  }

  @Test
  void reportRefusesATraceOrAnOldAnalysis() throws Exception {
    refused(
        2,
        "not an analysis of this version (schema 'tokendrift.trace/1'",
        "report",
        baseline.resolve("trace.jsonl").toString(),
        "--out",
        dir.resolve("r").toString());
    Path old = dir.resolve("old.json");
    Files.writeString(old, "{\"schema\": \"tokendrift.analysis/1\"}");
    refused(
        2,
        "run `tokendrift analyze` on its traces again",
        "report",
        old.toString(),
        "--out",
        dir.resolve("r").toString());
  }

  @Test
  void compareWithoutAnyTwinIsBadInputNotNoChange() throws Exception {
    Path other = dir.resolve("other.yaml");
    Files.writeString(
        other,
        SPEC.replace("The cat sat on the", "The coin landed on")
            .replace("The capital of France is", "She poured a cup of"));
    Path b = dir.resolve("b.jsonl");
    assertThat(
            ExplainCommandTest.run("run", other.toString(), "--trace", b.toString(), "--no-analyze")
                .code())
        .isZero();
    refused(2, "has a twin", "compare", baseline.resolve("trace.jsonl").toString(), b.toString());
  }

  @Test
  void aModelThatIsNotHereIsEnvironmentAndABrokenTokenizerLeavesNoTrace() throws Exception {
    refused(
        3,
        "no model here",
        "generate",
        "--model",
        dir.resolve("nope").toString(),
        "--prompt",
        "Hi");
    Path model = dir.resolve("model");
    Files.createDirectories(model);
    for (String f : new String[] {ModelDir.CONFIG, ModelDir.WEIGHTS}) {
      Files.copy(BundledModel.dir().resolve(f), model.resolve(f));
    }
    Files.writeString(model.resolve(ModelDir.TOKENIZER), "{ garbage");
    Path s = dir.resolve("broken.yaml");
    Files.writeString(s, "name: broken\nmodel: model\nprompts: [a]\ndecoding: {max_tokens: 2}\n");
    Path t = dir.resolve("broken.jsonl");
    refused(2, "tokenizer.json", "run", s.toString(), "--trace", t.toString());
    assertThat(t).doesNotExist();
  }

  @Test
  void aModelGivenRelativeToTheSpecIsRecordedByItsAbsolutePath() throws Exception {
    Path model = dir.resolve("m");
    Files.createDirectories(model);
    for (String f : new String[] {ModelDir.CONFIG, ModelDir.WEIGHTS, ModelDir.TOKENIZER}) {
      Files.copy(BundledModel.dir().resolve(f), model.resolve(f));
    }
    Path s = dir.resolve("rel.yaml");
    Files.writeString(s, "name: rel\nmodel: m\nprompts: [a]\ndecoding: {max_tokens: 2}\n");
    Path t = dir.resolve("rel.jsonl");
    assertThat(
            ExplainCommandTest.run("run", s.toString(), "--trace", t.toString(), "--no-analyze")
                .code())
        .isZero();
    try (TraceReader r = TraceReader.open(t)) {
      // analyze finds the tokenizer from any working directory, and writes the same bytes.
      assertThat(r.header().manifest().get("model")).isEqualTo(model.toString());
    }
  }

  @Test
  void aMalformedSpecFieldIsBadInputWithItsPlace() throws Exception {
    Path s = dir.resolve("bad.yaml");
    Files.writeString(s, "name: bad\nprompts: [a]\naxes:\n  batch: {sizes: [1, -4]}\n");
    refused(2, "bad.yaml:4:", "run", s.toString(), "--trace", dir.resolve("x.jsonl").toString());
  }
}
