package io.tokendrift.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.SpecFiles;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Run ids and spec hashes are the keys of resume, merge, shards and check: a change to how they are
 * computed orphans every trace and baseline users hold. These tests seal them with golden values
 * (JMH's "these tests seal the machine-readable format"): change them only on purpose, with a note
 * saying that existing traces must be recorded again.
 */
class RunIdentityGoldenTest {
  @TempDir Path dir;

  static final String SPEC =
      """
      name: golden
      model: bundled
      prompts:
        - {id: france, text: "The capital of France is"}
        - {id: cat, text: "The cat sat on the"}
      decoding: {temperature: 0.7, top_p: 0.9, max_tokens: 8, seeds: [3, 5]}
      axes:
        batch: {sizes: [1, 4], positions: [first, last]}
        threads: [1]
        repeats: 2
      """;

  @Test
  void theSpecHashAndRunIdsOfAFixedSpecAreTheRecordedOnes() throws Exception {
    ExperimentSpec s = ExperimentSpec.read(SpecFiles.write(dir, SPEC));
    // Golden values: computed by this code at commit 3f32cd3 (2026-12-03) and written down here.
    assertThat(s.hash())
        .isEqualTo("93c9e215bb080fb13c59c0a8ad166d98d2c188b5c866518e1a820d8a92b20a63");
    List<Plan.Run> runs = new Plan(s).runs();
    assertThat(runs).hasSize(2 * 3 * 2 * 2); // prompts x points (1@0, 4@0, 4@3) x seeds x repeats
    assertThat(runs.subList(0, 3).stream().map(Plan.Run::id).toList())
        .containsExactly("613a8577100c62c2", "5bf702683d646339", "746c8f8c75646db4");
  }

  /**
   * The CI baseline was recorded by an earlier build (its header says which commit): the spec hash
   * and the run ids this code plans for ci/check.yaml must still be the ones recorded there.
   */
  @Test
  void theCiBaselinesRecordedIdsAreTheOnesThisCodePlans() throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    ExperimentSpec s = ExperimentSpec.read(root.resolve("ci/check.yaml"));
    Set<String> recorded = new HashSet<>();
    try (TraceReader r = TraceReader.open(root.resolve("ci/baselines/bundled/trace.jsonl"))) {
      assertThat(r.header().specSha256()).isEqualTo(s.hash());
      while (r.hasNext()) {
        RunRecord rec = r.next();
        recorded.add(rec.id());
      }
    }
    assertThat(new Plan(s).runs().stream().map(Plan.Run::id).collect(Collectors.toSet()))
        .isEqualTo(recorded);
  }
}
