package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.experiment.Plan;
import io.tokendrift.experiment.Runner;
import io.tokendrift.report.MarkdownReport;
import io.tokendrift.report.Reports;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mode axis answers its own question: batch-invariant runs of the bundled model, every batch size
 * and row, against their own reference — one logit sequence per prompt, bit for bit — beside the
 * default mode's count, which the main comparison (everything against one default-mode batch-1 run)
 * cannot state.
 */
class GroupSummaryTest {
  @TempDir Path dir;

  @Test
  void eachModeIsAGroupWithItsOwnReferenceAndItsDistinctLogitSequences() throws Exception {
    Path spec = dir.resolve("groups.yaml");
    Files.writeString(
        spec,
        """
        name: groups
        model: bundled
        prompts:
          - {id: france, text: "The capital of France is"}
          - {id: cup, text: "She poured a cup of"}
          - {id: story, text: "Once upon a time there was a"}
        decoding: {max_tokens: 12}
        axes:
          batch: {sizes: [1, 2, 4], positions: [first, last]}
          batch_invariant: [false, true]
        reference: {batch_size: 1, batch_invariant: false}
        """);
    Path trace = dir.resolve("groups.jsonl");
    Runner.run(
        new Plan(ExperimentSpec.read(spec)),
        Runner.Options.of(trace),
        Runner.Progress.NONE,
        l -> {});
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.groups()).extracting(GroupSummary::axis).containsExactly("batch_invariant");
    GroupSummary g = a.groups().get(0);
    assertThat(g.otherValues()).contains("batch_size=1").doesNotContain("batch_invariant");
    Map<String, GroupSummary.Value> byValue = new HashMap<>();
    g.values().forEach(v -> byValue.put(v.value(), v));

    // Expected counts from the trace itself, independently of GroupSummary: distinct digest
    // sequences per prompt within each mode.
    Map<String, Set<List<Long>>> seqs = new HashMap<>();
    try (TraceReader r = TraceReader.open(trace)) {
      while (r.hasNext()) {
        RunRecord rec = r.next();
        List<Long> digests = new java.util.ArrayList<>();
        for (int i = 0; i < rec.steps().size(); i++) {
          digests.add(rec.steps().digest(i));
        }
        seqs.computeIfAbsent(
                rec.point().get("batch_invariant") + "/" + rec.promptId(), k -> new HashSet<>())
            .add(digests);
      }
    }
    ExperimentSpec s = ExperimentSpec.read(spec);
    for (String mode : List.of("false", "true")) {
      GroupSummary.Value v = byValue.get(mode);
      // The spec's points in this mode (batch 1's first and last row are one point), 3 prompts
      // each;
      // every run but the group's 3 references is compared.
      long points =
          s.points().stream().filter(p -> p.values().get("batch_invariant").equals(mode)).count();
      assertThat(v.points()).isEqualTo((int) points);
      assertThat(v.runs()).isEqualTo(3 * points);
      assertThat(v.compared()).isEqualTo(3 * points - 3);
      assertThat(v.prompts()).isEqualTo(3);
      int lo = Integer.MAX_VALUE;
      int hi = 0;
      int one = 0;
      for (String p : List.of("france", "cup", "story")) {
        int n = seqs.get(mode + "/" + p).size();
        lo = Math.min(lo, n);
        hi = Math.max(hi, n);
        one += n == 1 ? 1 : 0;
      }
      assertThat(v.distinctMin()).as(mode).isEqualTo(lo);
      assertThat(v.distinctMax()).as(mode).isEqualTo(hi);
      assertThat(v.stablePrompts()).as(mode).isEqualTo(one);
    }
    // Batch-invariant mode's promise, on any CPU: one logit sequence per prompt, bit-identical to
    // its own batch-1 reference at every batch size and row.
    GroupSummary.Value inv = byValue.get("true");
    assertThat(inv.distinctMax()).isEqualTo(1);
    assertThat(inv.bitIdentical()).isEqualTo(inv.compared());
    assertThat(inv.verdict()).isEqualTo(GroupSummary.Verdict.BIT_IDENTICAL);
    assertThat(inv.maxDrift()).isZero();

    JsonNode j = new ObjectMapper().readTree(Reports.analysisJson(a));
    assertThat(j.at("/groups/0/axis").asText()).isEqualTo("batch_invariant");
    assertThat(j.at("/groups/0/values/1/verdict").asText()).isEqualTo("bit-identical");
    assertThat(j.get("summary").asText())
        .contains(
            "batch_invariant=true: 1 distinct logit sequence per prompt across its "
                + inv.points()
                + " points (3/3 prompts with one), every run bit-identical to its reference");
    long c = inv.compared();
    assertThat(MarkdownReport.render(j))
        .contains("## Within each batch\\_invariant group")
        .contains(
            "| `true` | bit-identical | "
                + inv.points()
                + " | "
                + c
                + " | "
                + c
                + " | "
                + c
                + " | 0 | 1 | 3/3 |");
  }

  @Test
  void anyAxisTheSpecNamesInCompareWithinIsGroupedToo() throws Exception {
    Path spec = dir.resolve("cw.yaml");
    Files.writeString(
        spec,
        """
        name: cw
        model: bundled
        prompts: ["The capital of France is", "She poured a cup of"]
        decoding: {max_tokens: 6}
        axes:
          batch: {sizes: [1, 4], positions: [last]}
          summation: [native, "splitk:4:pairwise"]
        compare_within: [summation]
        """);
    Path trace = dir.resolve("cw.jsonl");
    Runner.run(
        new Plan(ExperimentSpec.read(spec)),
        Runner.Options.of(trace),
        Runner.Progress.NONE,
        l -> {});
    try (TraceReader r = TraceReader.open(trace)) {
      assertThat(r.header().compareWithin()).containsExactly("summation");
    }
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.groups()).extracting(GroupSummary::axis).containsExactly("summation");
    for (GroupSummary.Value v : a.groups().get(0).values()) {
      // Each summation order against its own batch-1 run: the batch-4 runs of both prompts.
      assertThat(v.runs()).isEqualTo(4);
      assertThat(v.compared()).isEqualTo(2);
    }
    assertThat(
            io.tokendrift.spec.SpecFiles.refusal(
                dir, "name: x\nprompts: [\"a\"]\ncompare_within: [colour]\n"))
        .contains("compare_within[0]: 'colour' is not an axis of this experiment's points");
  }
}
