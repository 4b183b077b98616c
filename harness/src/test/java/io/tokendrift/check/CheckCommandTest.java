package io.tokendrift.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.cli.ExplainCommandTest;
import io.tokendrift.cli.Main;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.PerturbedModels;
import io.tokendrift.model.Safetensors;
import io.tokendrift.model.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

@Tag("numerics")
class CheckCommandTest {
  @TempDir Path dir;
  Path baseline;

  static final String SPEC =
      """
      name: check-test
      model: %s
      prompts:
        - {id: france, text: "The capital of France is"}
        - {id: cat, text: "The cat sat on the"}
        - {id: story, text: "Once upon a time there was a"}
      decoding: {max_tokens: 12}
      axes:
        batch: {sizes: %s, positions: [first]}
        threads: [1]
      """;

  static ExplainCommandTest.Result run(String... args) {
    return ExplainCommandTest.run(args);
  }

  Path spec(String name, String model, String sizes) throws Exception {
    Path p = dir.resolve(name + ".yaml");
    Files.writeString(p, SPEC.formatted(model, sizes));
    return p;
  }

  @BeforeEach
  void record() throws Exception {
    baseline = dir.resolve("baseline");
    ExplainCommandTest.Result r =
        run(
            "baseline",
            "record",
            spec("base", "bundled", "[1]").toString(),
            "--out",
            baseline.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(baseline.resolve("trace.jsonl")).exists();
    assertThat(Files.readString(baseline.resolve("manifest.json"))).contains("\"model.sha256\"");
  }

  /** Lock files under {@code d} (not recursive into other folders than d's children). */
  static List<Path> locks(Path d) throws Exception {
    try (var s = Files.walk(d, 2)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".lock")).toList();
    }
  }

  @Test
  void sameSpecSameMachinePassesAndWritesJunitAndMarkdown() throws Exception {
    // Neither recording nor checking leaves a lock behind: not beside the baseline (which gets
    // committed), not beside the check's temporary trace.
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    long tmpLocks;
    try (var s = Files.list(tmp)) {
      tmpLocks = s.filter(p -> p.getFileName().toString().endsWith(".lock")).count();
    }
    Path junit = dir.resolve("check.xml");
    Path md = dir.resolve("check.md");
    ExplainCommandTest.Result r =
        run(
            "check",
            spec("base", "bundled", "[1]").toString(),
            "--baseline",
            baseline.toString(),
            "--junit",
            junit.toString(),
            "--markdown",
            md.toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("check-test: PASS — 3 runs: 3 identical");
    Document x = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
    assertThat(x.getElementsByTagName("testcase").getLength()).isEqualTo(3); // prompts x points
    assertThat(x.getElementsByTagName("failure").getLength()).isZero();
    assertThat(Files.readString(md)).startsWith("# tokendrift check: ✅ pass");
    assertThat(locks(dir)).isEmpty();
    try (var s = Files.list(tmp)) {
      assertThat(s.filter(p -> p.getFileName().toString().endsWith(".lock")).count())
          .isEqualTo(tmpLocks);
    }
  }

  @Test
  void aBatchSizeOnlyChangePassesAgainstTheReferenceTwins() throws Exception {
    ExplainCommandTest.Result r =
        run(
            "check",
            spec("wider", "bundled", "[1, 4, 8]").toString(),
            "--baseline",
            baseline.toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("PASS — 9 runs").contains("0 unexplained");
  }

  @Test
  void aNudgedWeightFailsWithExitOneAndNamesTheRuns() throws Exception {
    Path nudged = dir.resolve("nudged");
    Files.createDirectories(nudged);
    Path b = BundledModel.dir();
    Files.copy(b.resolve("config.json"), nudged.resolve("config.json"));
    Files.copy(b.resolve("tokenizer.json"), nudged.resolve("tokenizer.json"));
    Map<String, Tensor> t = Safetensors.read(b.resolve("model.safetensors"));
    Tensor bias = t.get("transformer.ln_f.bias");
    float[] v = bias.data().clone();
    v[0] += 1.0f;
    t.put(bias.name(), new Tensor(bias.name(), bias.shape(), v));
    Safetensors.write(nudged.resolve("model.safetensors"), t.values(), Map.of("format", "pt"));
    Path junit = dir.resolve("check.xml");
    ExplainCommandTest.Result r =
        run(
            "check",
            spec("nudged", nudged.toString(), "[1]").toString(),
            "--baseline",
            baseline.toString(),
            "--junit",
            junit.toString());
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(Main.CHANGED);
    assertThat(r.out()).contains("CHANGED").contains("Environment changed: model, model.sha256");
    // One line per failing run, from the single message builder, naming prompt, step and tokens.
    assertThat(r.out()).containsPattern("(UNEXPLAINED|DRIFT): prompt \"[^\"]+\" at device=cpu");
    assertThat(r.out())
        .containsPattern("expected \"[^\"]*\" \\(id \\d+\\), got \"[^\"]*\" \\(id \\d+\\)");
    Document x = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
    assertThat(x.getElementsByTagName("failure").getLength()).isPositive();
  }

  @Test
  void noiseOnAnMlpMatrixThatKeepsEveryTokenFailsAsDrift() throws Exception {
    Path noisy = PerturbedModels.mlpNoise(dir.resolve("noisy"), 0.05);
    ExplainCommandTest.Result r =
        run(
            "check",
            spec("noisy", noisy.toString(), "[1]").toString(),
            "--baseline",
            baseline.toString());
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(Main.CHANGED);
    // Tokens unchanged, logits moved: judged by the baseline's floor (its tolerance, 1e-4).
    assertThat(r.out())
        .contains(
            "CHANGED — 3 runs: 0 identical, 0 explained divergence(s) (budget 0), 0 unexplained,"
                + " 3 drift beyond 0.000100");
    assertThat(r.out()).containsPattern("DRIFT: prompt \"[^\"]+\" at device=cpu");
  }

  @Test
  void aOneInTenMillionPerturbationPasses() throws Exception {
    Path tiny = PerturbedModels.mlpNoise(dir.resolve("tiny"), 1e-7);
    ExplainCommandTest.Result r =
        run(
            "check",
            spec("tiny", tiny.toString(), "[1]").toString(),
            "--baseline",
            baseline.toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("PASS — 3 runs: 3 identical").contains("0 drift beyond");
  }

  @Test
  void aMalformedBaselineIsBadInput() throws Exception {
    List<String> lines = Files.readAllLines(baseline.resolve("trace.jsonl"));
    lines.set(1, lines.get(1).substring(0, 40));
    Files.write(baseline.resolve("trace.jsonl"), lines);
    ExplainCommandTest.Result r =
        run("check", spec("base", "bundled", "[1]").toString(), "--baseline", baseline.toString());
    assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(r.err())
        .contains("malformed baseline: " + baseline.resolve("trace.jsonl") + ":2: corrupt record");
    ExplainCommandTest.Result missing =
        run(
            "check",
            spec("base", "bundled", "[1]").toString(),
            "--baseline",
            dir.resolve("nowhere").toString());
    assertThat(missing.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(missing.err()).contains("no baseline folder here");
  }
}
