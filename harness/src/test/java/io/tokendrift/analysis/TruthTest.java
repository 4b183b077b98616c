package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.experiment.Plan;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.NearTiesFile;
import io.tokendrift.report.MarkdownReport;
import io.tokendrift.report.Reports;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A float64 point is the truth: its greedy path is the one the planting code found in float64
 * (every planted micro-tie resolved to its float64 top-1), every float32 condition's error against
 * it is float32-sized, and where the float32 reference leaves the true path the analysis names the
 * step, the true token and the float64 margin — the planted one, where it is a planted micro-tie.
 */
@Tag("numerics")
class TruthTest {
  @TempDir Path dir;

  @Test
  void theFloat64PointIsTheTruthAndTheReferenceIsJudgedAgainstIt() throws Exception {
    Path spec = dir.resolve("truth.yaml");
    Files.writeString(
        spec,
        """
        name: truth
        model: bundled
        prompts:
          - {id: sky, text: "At night the sky is"}
          - {id: weather, text: "The weather today is"}
        decoding: {max_tokens: 16}
        axes:
          batch: {sizes: [1, 4], positions: [last]}
          precision: [fp32, fp64]
        reference: {batch_size: 1, precision: fp32}
        """);
    Path trace = dir.resolve("truth.jsonl");
    Runner.run(
        new Plan(ExperimentSpec.read(spec)),
        Runner.Options.of(trace),
        Runner.Progress.NONE,
        l -> {});
    List<NearTiesFile.MicroTie> ties =
        NearTiesFile.readMicro(BundledModel.dir().resolve(BundledModel.NEAR_TIES));
    List<RunRecord> runs = new ArrayList<>();
    try (TraceReader r = TraceReader.open(trace)) {
      r.forEachRemaining(runs::add);
    }
    for (RunRecord r : runs) {
      boolean fp64 = r.point().get("precision").equals("fp64");
      assertThat(r.steps().hasExact()).as(r.id()).isEqualTo(fp64);
      if (!fp64) {
        continue;
      }
      // The float64 path is the planting code's: at every micro-tie of the prompt within reach,
      // the path so far and the float64 top-1.
      for (NearTiesFile.MicroTie t : ties) {
        if (!t.prompt().equals(r.prompt()) || t.step() >= r.tokens().length) {
          continue;
        }
        for (int i = 0; i < t.step(); i++) {
          assertThat(r.tokens()[i]).as(t.id() + " path " + i).isEqualTo(t.path()[i]);
        }
        assertThat(r.tokens()[t.step()]).as(t.id()).isEqualTo(t.top1());
        assertThat(r.steps().margin64(t.step())).as(t.id()).isCloseTo(t.margin(), within(1e-9));
      }
    }
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    Truth t = a.truth();
    assertThat(t).isNotNull();
    assertThat(t.referencesCompared()).isEqualTo(2);
    assertThat(t.points()).hasSize(2); // the two float32 conditions
    for (Truth.PointError p : t.points()) {
      assertThat(p.point()).contains("precision=fp32");
      // float32 against float64: errors of float32 arithmetic, not zero and not large.
      assertThat(p.maxError()).isGreaterThan(0).isLessThan(1e-4);
      assertThat(p.maxUlps()).isGreaterThan(0);
    }
    for (Truth.ReferenceCheck off : t.referencesOffPath()) {
      // The reference can only leave the true path at a float32-sized margin: a planted micro-tie
      // (then with its planted float64 margin) or another near-tie.
      assertThat(off.margin64()).isLessThan(1e-4);
      ties.stream()
          .filter(m -> m.prompt().equals(prompt(runs, off.promptId())) && m.step() == off.step())
          .findFirst()
          .ifPresent(
              m -> {
                assertThat(off.truthToken()).isEqualTo(m.top1());
                assertThat(off.margin64()).isCloseTo(m.margin(), within(1e-9));
              });
    }
    JsonNode j = new ObjectMapper().readTree(Reports.analysisJson(a));
    assertThat(j.at("/truth/points").size()).isEqualTo(2);
    assertThat(j.get("summary").asText()).contains("Against float64 (precision=fp64)");
    assertThat(MarkdownReport.render(j)).contains("## Against float64");
  }

  private static String prompt(List<RunRecord> runs, String id) {
    return runs.stream().filter(r -> r.promptId().equals(id)).findFirst().orElseThrow().prompt();
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }
}
