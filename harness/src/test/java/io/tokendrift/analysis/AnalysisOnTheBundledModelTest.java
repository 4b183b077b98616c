package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.experiment.Plan;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.NearTiesFile;
import io.tokendrift.model.Safetensors;
import io.tokendrift.model.Tensor;
import io.tokendrift.report.Reports;
import io.tokendrift.report.Sentences;
import io.tokendrift.spec.ExperimentSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The analysis on real runs of the bundled model: planted ties, attribution, a corrupted model. */
@Tag("numerics")
class AnalysisOnTheBundledModelTest {
  @TempDir Path dir;

  static final String SPEC =
      """
      name: planted
      model: %s
      prompts:
        - {id: cat, text: "The cat sat on the"}
        - {id: cup, text: "She poured a cup of"}
        - {id: coin, text: "The coin landed on"}
        - {id: light, text: "The light turned"}
        - {id: france, text: "The capital of France is"}
        - {id: story, text: "Once upon a time there was a"}
      decoding: {max_tokens: 16}
      axes:
        batch: {sizes: [1, 4], positions: [first, last]}
        summation: [native, "splitk:4:pairwise"]
      """;

  static List<Analyzer.PlantedTie> planted() {
    List<Analyzer.PlantedTie> out = new ArrayList<>();
    for (NearTiesFile.Entry e : NearTiesFile.read(BundledModel.dir().resolve("near_ties.json"))) {
      out.add(new Analyzer.PlantedTie(e.id(), e.prefix(), e.kind()));
    }
    return out;
  }

  Path run(String name, String model) throws Exception {
    Path spec = dir.resolve(name + ".yaml");
    Files.writeString(spec, SPEC.formatted(model).replace("name: planted", "name: " + name));
    Path trace = dir.resolve(name + ".jsonl");
    Runner.run(
        new Plan(ExperimentSpec.read(spec)),
        Runner.Options.of(trace),
        Runner.Progress.NONE,
        l -> {});
    return trace;
  }

  @Test
  void plantedFiftyFiftyPointsAreFoundAsNearTiesAndEveryDivergenceIsClassified() throws Exception {
    Path trace = run("planted", "bundled");
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(planted()));
    JsonNode j = new ObjectMapper().readTree(Reports.analysisJson(a));
    List<String> fiftyFifty = new ArrayList<>();
    for (JsonNode p : j.get("near_ties").get("planted")) {
      if (p.get("kind").asText().equals("50/50")) {
        assertThat(p.get("near_tie").asBoolean()).as(p.toString()).isTrue();
        fiftyFifty.add(p.get("id").asText());
      }
    }
    assertThat(fiftyFifty)
        .containsExactlyInAnyOrder(
            "cat-mat-rug", "cup-tea-coffee", "coin-heads-tails", "light-green-red");
    for (Analyzer.RunResult r : a.compared()) {
      assertThat(r.verdict())
          .isIn(
              Analyzer.Verdict.IDENTICAL, Analyzer.Verdict.EXPLAINED, Analyzer.Verdict.UNEXPLAINED);
    }
    // Attribution lists the axes the experiment varied.
    List<String> axes = new ArrayList<>();
    j.get("axes").forEach(x -> axes.add(x.get("axis").asText()));
    assertThat(axes).contains("batch_size", "batch_position", "summation");
    assertThat(j.get("summary").asText()).isNotBlank();
    // Greedy runs of one spec on one machine: nothing unexplained.
    assertThat(a.count(Analyzer.Verdict.UNEXPLAINED)).isZero();
  }

  /** One weight nudged: against the original, the divergences are beyond any noise floor. */
  @Test
  void aNudgedWeightShowsUpAsUnexplainedDivergence() throws Exception {
    Path original = run("original", "bundled");
    ModelDir bundled = BundledModel.open();
    Path nudged = dir.resolve("nudged");
    Files.createDirectories(nudged);
    for (String f : List.of("config.json", "tokenizer.json")) {
      Files.copy(bundled.dir().resolve(f), nudged.resolve(f));
    }
    Map<String, Tensor> t = Safetensors.read(bundled.dir().resolve("model.safetensors"));
    Tensor bias = t.get("transformer.ln_f.bias");
    float[] v = bias.data().clone();
    v[0] += 1.0f; // one number of 981,376
    t.put(bias.name(), new Tensor(bias.name(), bias.shape(), v));
    Safetensors.write(nudged.resolve("model.safetensors"), t.values(), Map.of("format", "pt"));
    Path changed = run("changed", nudged.toString());
    Compare c =
        Compare.of(List.of(original), List.of(changed), Analyzer.Options.defaults(List.of()));
    assertThat(c.pairs()).hasSize(36);
    assertThat(c.count(Analyzer.Verdict.UNEXPLAINED)).isPositive();
    // The drift dwarfs the original experiment's own floor.
    double maxDrift =
        c.pairs().stream().mapToDouble(p -> p.comparison().maxDrift()).max().orElse(0);
    assertThat(maxDrift).isGreaterThan(100 * c.a().experimentFloor());
    assertThat(Sentences.compare(c)).contains("unexplained");
  }
}
