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
        "not an analysis of this version (schema 'tokendrift.trace/2'",
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

  @Test
  void aSecondWriterOfTheSameTraceIsRefusedNamingTheHolder() throws Exception {
    Path t = dir.resolve("locked.jsonl");
    try (io.tokendrift.trace.TraceLock held = io.tokendrift.trace.TraceLock.acquire(t)) {
      refused(
          3,
          "writing this trace (pid " + ProcessHandle.current().pid(),
          "run",
          spec.toString(),
          "--trace",
          t.toString(),
          "--force",
          "--no-analyze");
    }
    assertThat(t).doesNotExist();
  }

  @Test
  void aFailedMergeLeavesTheOldOutputUntouched() throws Exception {
    Path out = dir.resolve("merged.jsonl");
    var ok =
        ExplainCommandTest.run(
            "merge", baseline.resolve("trace.jsonl").toString(), "--out", out.toString());
    assertThat(ok.code()).as(ok.err()).isZero();
    refused(
        2,
        "no-such-shard.jsonl",
        "merge",
        baseline.resolve("trace.jsonl").toString(),
        dir.resolve("no-such-shard.jsonl").toString(),
        "--out",
        out.toString(),
        "--force");
    assertThat(dir.resolve("merged.jsonl.merging")).doesNotExist();
    // Neither the merge that worked nor the refused one leaves a lock file.
    try (var s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".lock"))).isEmpty();
    }
  }

  @Test
  void aPromptLongerThanTheContextIsRefusedBeforeAnythingRunsWithItsPlace() throws Exception {
    Path s = dir.resolve("long.yaml");
    Files.writeString(
        s,
        "name: long\nprompts:\n  - short\n  - \""
            + "a b c d ".repeat(200)
            + "\"\n"
            + "decoding: {max_tokens: 2}\n");
    Path t = dir.resolve("long.jsonl");
    refused(
        2, "long.yaml:4:5: prompts[1]: encodes to", "run", s.toString(), "--trace", t.toString());
    assertThat(t).doesNotExist();
  }

  @Test
  void aGridTooLargeToRunIsRefusedAtOnce() throws Exception {
    Path s = dir.resolve("huge.yaml");
    Files.writeString(
        s,
        "name: huge\nprompts: [a, b, c, d, e, f, g, h, i, j]\ndecoding: {seeds: ["
            + java.util.stream.IntStream.range(0, 100)
                .mapToObj(Integer::toString)
                .collect(java.util.stream.Collectors.joining(", "))
            + "]}\naxes: {threads: [1, 2, 3, 4, 5, 6, 7, 8], repeats: 1000}\n");
    refused(2, "at most 1,000,000 are allowed", "run", s.toString(), "--dry-run");
  }

  @Test
  void tracesAreReadableByOthersAndAnIncompleteOneIsSaidToBe() throws Exception {
    Path t = baseline.resolve("trace.jsonl");
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(t)))
        .isEqualTo("rw-r--r--");
    // Drop the last two records and cut the one before in half: analyze states both.
    java.util.List<String> lines = Files.readAllLines(t);
    Path cut = dir.resolve("cut").resolve("trace.jsonl");
    Files.createDirectories(cut.getParent());
    String partial = lines.get(lines.size() - 3);
    Files.writeString(
        cut,
        String.join("\n", lines.subList(0, lines.size() - 3))
            + "\n"
            + partial.substring(0, partial.length() / 2));
    var r = ExplainCommandTest.run("analyze", cut.toString(), "--format", "json");
    assertThat(r.code()).as("incomplete: exit 4, as run and merge\n" + r.err()).isEqualTo(4);
    assertThat(r.out())
        .contains("Incomplete: 3 of the grid's 4 runs are not in the trace")
        .contains("was cut off and is ignored");
  }

  @Test
  void aTemperatureSoSmallThatLogitsOverflowIsRefused() throws Exception {
    // 1e-40 used to divide float32 logits into infinities and NaN probabilities.
    refused(
        2,
        "must be 0 (greedy) or at least 1.0E-30",
        "explain",
        "--logits",
        "3,2,1",
        "--temperature",
        "1e-40");
    Path s = dir.resolve("cold.yaml");
    Files.writeString(s, "name: cold\nprompts: [a]\ndecoding: {temperature: 1.0e-40}\n");
    refused(2, "cold.yaml:3:", "run", s.toString(), "--dry-run");
  }

  @Test
  void resumeRunsFailedRunsAgainAndAnalysisCountsTheirLastRecord() throws Exception {
    // A trace whose last run failed (as a crashed batch leaves it): its record kept, then retried.
    Path t = dir.resolve("retry.jsonl");
    var first =
        ExplainCommandTest.run("run", spec.toString(), "--trace", t.toString(), "--no-analyze");
    assertThat(first.code()).as(first.err()).isZero();
    java.util.List<io.tokendrift.trace.RunRecord> recs = new java.util.ArrayList<>();
    io.tokendrift.trace.TraceHeader header;
    try (TraceReader r = TraceReader.open(t)) {
      header = r.header();
      r.forEachRemaining(recs::add);
    }
    var last = recs.remove(recs.size() - 1);
    recs.add(
        io.tokendrift.trace.RunRecord.of(last.id(), io.tokendrift.trace.RunRecord.Status.FAILED)
            .prompt(last.promptId(), last.prompt())
            .at(last.point(), last.seed(), last.repeat())
            .output(null, "", new int[0], new int[0])
            .batch(0, last.batchRows(), last.batchRow())
            .error("RuntimeException: injected")
            .build());
    try (var w = io.tokendrift.trace.TraceWriter.create(t, header, true)) {
      recs.forEach(w::write);
    }
    var resumed =
        ExplainCommandTest.run("run", spec.toString(), "--trace", t.toString(), "--resume");
    assertThat(resumed.code()).as(resumed.err()).isZero();
    assertThat(resumed.err()).contains("1 failed run(s) will be run again");
    assertThat(resumed.out()).contains("1 runs ok, 0 failed").doesNotContain("Incomplete");
    assertThat(Files.readAllLines(t)).hasSize(1 + 4 + 1); // header, 4 runs, the retried one
  }
}
