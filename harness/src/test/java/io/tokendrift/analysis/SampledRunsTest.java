package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.experiment.Plan;
import io.tokendrift.experiment.Runner;
import io.tokendrift.spec.ExperimentSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sampled runs are judged as sampled, whichever draw method made them. */
@Tag("numerics")
class SampledRunsTest {
  @TempDir Path dir;

  @Test
  void gumbelAndInverseCdfRunsAreBothSampled() throws Exception {
    for (String method : List.of("gumbel", "inverse_cdf")) {
      Path spec = dir.resolve(method + ".yaml");
      Files.writeString(
          spec,
          "name: s\nprompts: [\"The cat sat on the\"]\n"
              + "decoding: {temperature: 0.8, method: "
              + method
              + ", max_tokens: 4, seeds: [1]}\n"
              + "axes: {batch: {sizes: [1, 2]}}\n");
      Path trace = dir.resolve(method + ".jsonl");
      Runner.run(
          new Plan(ExperimentSpec.read(spec)),
          Runner.Options.of(trace),
          Runner.Progress.NONE,
          line -> {});
      Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
      assertThat(a.runs()).as(method).isNotEmpty();
      // Gumbel draws record no uniform (only their score gap): before, those runs were taken for
      // greedy ones and judged by the greedy margin.
      assertThat(a.runs()).as(method).allMatch(Analyzer.RunResult::sampled);
    }
  }
}
