package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.experiment.Plan;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.PerturbedModels;
import io.tokendrift.spec.ExperimentSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** compare on real runs of the bundled model and perturbed copies: drift is a change. */
@Tag("numerics")
class CompareCommandTest {
  @TempDir Path dir;

  static final String SPEC =
      """
      name: %s
      model: %s
      prompts:
        - {id: france, text: "The capital of France is"}
        - {id: cat, text: "The cat sat on the"}
        - {id: story, text: "Once upon a time there was a"}
      decoding: {max_tokens: 8}
      axes:
        batch: {sizes: [1], positions: [first]}
        threads: [1]
        repeats: 2
      """;

  static ExplainCommandTest.Result compare(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "compare";
    System.arraycopy(args, 0, all, 1, args.length);
    return ExplainCommandTest.run(all);
  }

  Path trace(String name, String model) throws Exception {
    Path spec = dir.resolve(name + ".yaml");
    Files.writeString(spec, SPEC.formatted(name, model));
    Path trace = dir.resolve(name + ".jsonl");
    Runner.run(
        new Plan(ExperimentSpec.read(spec)),
        Runner.Options.of(trace),
        Runner.Progress.NONE,
        l -> {});
    return trace;
  }

  JsonNode across(Path json) throws Exception {
    return new ObjectMapper().readTree(Files.readString(json)).get("across");
  }

  @Test
  void noiseOnAnMlpMatrixThatKeepsEveryTokenIsDriftBeyondToleranceAndExitsOne() throws Exception {
    Path a = trace("a", "bundled");
    Path b = trace("b", PerturbedModels.mlpNoise(dir.resolve("noisy"), NOISE).toString());
    Path json = dir.resolve("compare.json");
    ExplainCommandTest.Result r = compare(a.toString(), b.toString(), "--json", json.toString());
    JsonNode x = across(json);
    // The perturbation was chosen so that no greedy token changes: only the logits moved.
    assertThat(x.get("divergences")).as(r.out()).isEmpty();
    assertThat(x.get("unexplained").asInt()).isZero();
    assertThat(x.get("max_drift").asDouble()).isGreaterThanOrEqualTo(0.1);
    double tolerance = x.get("drift_tolerance").asDouble();
    assertThat(tolerance).isEqualTo(Math.max(10 * x.get("a_floor").asDouble(), 1e-4));
    assertThat(x.get("beyond_tolerance").asInt()).isEqualTo(6);
    assertThat(x.get("drifted")).hasSize(6);
    assertThat(new ObjectMapper().readTree(Files.readString(json)).get("changed").asBoolean())
        .isTrue();
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(Main.CHANGED);
    assertThat(r.out()).contains("0 unexplained; 6 drift beyond tolerance").contains("B changed.");
    assertThat(r.out()).containsPattern("DRIFT: run \\S+ \\(prompt (france|cat|story)\\) at ");
    // An explicit tolerance above the drift is honoured.
    ExplainCommandTest.Result loose =
        compare(a.toString(), b.toString(), "--drift-tolerance", "10");
    assertThat(loose.code()).as(loose.out()).isEqualTo(Main.OK);
    assertThat(loose.out()).contains("0 drift beyond tolerance (10").contains("No change.");
  }

  @Test
  void aOneInTenMillionPerturbationIsNoChange() throws Exception {
    Path a = trace("a", "bundled");
    Path b = trace("b", PerturbedModels.mlpNoise(dir.resolve("tiny"), 1e-7).toString());
    Path json = dir.resolve("compare.json");
    ExplainCommandTest.Result r = compare(a.toString(), b.toString(), "--json", json.toString());
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(Main.OK);
    JsonNode x = across(json);
    assertThat(x.get("beyond_tolerance").asInt()).isZero();
    assertThat(x.get("max_drift").asDouble()).isLessThan(x.get("drift_tolerance").asDouble());
    assertThat(r.out()).contains("0 unexplained; 0 drift beyond tolerance").contains("No change.");
  }

  @Test
  void aNegativeToleranceIsBadInput() throws Exception {
    Path a = trace("a", "bundled");
    ExplainCommandTest.Result r = compare(a.toString(), a.toString(), "--drift-tolerance", "-1");
    assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(r.err()).contains("--drift-tolerance");
  }

  /** Relative noise on {@link PerturbedModels#MLP_MATRIX}: logits move, no test token changes. */
  static final double NOISE = 0.05;
}
