package io.tokendrift.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.SpecFiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kv_cache axis: read, named in points only when varied, and run end to end. */
@Tag("numerics")
class KvCacheAxisTest {
  @TempDir Path dir;

  @Test
  void onAndOffAreReadInEitherSpellingAndOlderSpecsKeepTheirPoints() throws Exception {
    ExperimentSpec s =
        ExperimentSpec.read(
            SpecFiles.write(dir, "name: k\nprompts: [\"a b\"]\naxes: {kv_cache: [on, \"off\"]}\n"));
    assertThat(s.axes().kvCache()).containsExactly(true, false);
    assertThat(s.points()).hasSize(2);
    assertThat(s.reference().key()).endsWith(",kv_cache=on");
    ExperimentSpec old = ExperimentSpec.read(SpecFiles.write(dir, "name: k\nprompts: [\"a b\"]\n"));
    assertThat(old.reference().key()).doesNotContain("kv_cache");
    assertThat(SpecFiles.refusal(dir, "name: k\nprompts: [\"a\"]\naxes: {kv_cache: [maybe]}\n"))
        .contains("axes.kv_cache[0]: 'maybe' is not known; allowed: on (decode with the cache)");
  }

  @Test
  void inBatchInvariantModeTheCacheChangesNoBit() throws Exception {
    Path spec =
        SpecFiles.write(
            dir,
            "name: kv\nprompts: [\"At night the sky is\", \"The weather today is\"]\n"
                + "decoding: {temperature: 0, max_tokens: 12}\n"
                + "axes: {batch: {sizes: [1, 3]}, batch_invariant: [true], kv_cache: [on, off]}\n");
    Path trace = dir.resolve("trace.jsonl");
    Runner.run(
        ExperimentSpec.read(spec), Runner.Options.of(trace), Runner.Progress.NONE, line -> {});
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.runs()).hasSize(8); // 2 sizes (row 0) x 2 cache modes x 2 prompts
    for (Analyzer.RunResult r : a.runs()) {
      assertThat(r.verdict()).isIn(Analyzer.Verdict.REFERENCE, Analyzer.Verdict.IDENTICAL);
      if (r.comparison() != null) {
        assertThat(r.comparison().maxDrift()).as(r.point().key()).isZero();
      }
    }
  }
}
