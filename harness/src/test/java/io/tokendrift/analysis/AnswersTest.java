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
 * Accuracy per condition on real runs of the bundled model, at two planted micro-ties whose float64
 * top-1 is the expected answer: the analysis's counts equal ones taken from the trace's texts by
 * hand, and the report states them.
 */
class AnswersTest {
  @TempDir Path dir;

  @Test
  void accuracyPerConditionAndTaraComeFromTheRunsTexts() throws Exception {
    Path spec = dir.resolve("answers.yaml");
    Files.writeString(
        spec,
        """
        name: answers
        model: bundled
        prompts:
          - id: bear
            text: "At night the sky is dark. Once upon a time there was a little"
            expect: {choices: [bear, fox], answer: bear}
          - id: name
            text: "At night the sky is dark. Once upon a time there was a little bear named"
            expect: {choices: [Vera, Anna], answer: Vera}
          - id: free
            text: "The capital of France is"
        decoding: {max_tokens: 3}
        axes:
          batch: {sizes: [1, 4], positions: [last]}
          summation: [native, "splitk:4:reverse"]
          repeats: 2
        """);
    ExperimentSpec s = ExperimentSpec.read(spec);
    assertThat(s.expectations()).containsOnlyKeys("bear", "name");
    Path trace = dir.resolve("answers.jsonl");
    Runner.run(new Plan(s), Runner.Options.of(trace), Runner.Progress.NONE, l -> {});
    // By hand: the first of the two choices in the completion's first line.
    Map<String, int[]> byPoint = new HashMap<>(); // {runs, correct}
    Map<String, Set<String>> answers = new HashMap<>();
    try (TraceReader r = TraceReader.open(trace)) {
      assertThat(r.header().expectations()).containsOnlyKeys("bear", "name");
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (rec.promptId().equals("free")) {
          continue;
        }
        String line = rec.text().strip().split("\n")[0];
        String[] c =
            rec.promptId().equals("bear")
                ? new String[] {"bear", "fox"}
                : new String[] {"Vera", "Anna"};
        int a = line.indexOf(c[0]);
        int b = line.indexOf(c[1]);
        String got = a >= 0 && (b < 0 || a < b) ? c[0] : b >= 0 ? c[1] : "";
        String key = io.tokendrift.trace.PointKey.keyOf(rec.point());
        if (rec.repeat() == 0) {
          // Accuracy counts one trial per prompt and seed: the first repeat (repeats of a
          // deterministic condition are copies; TARa covers them).
          int[] n = byPoint.computeIfAbsent(key, k -> new int[2]);
          n[0]++;
          n[1] += got.equals(c[0]) ? 1 : 0;
        }
        answers.computeIfAbsent(rec.promptId() + key, k -> new HashSet<>()).add(got);
      }
    }
    Analysis an = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    Answers x = an.answers();
    assertThat(x.prompts()).isEqualTo(2);
    assertThat(x.points()).hasSize(4);
    double lo = 1;
    double hi = 0;
    for (Answers.PointAnswers p : x.points()) {
      int[] n = byPoint.get(p.point());
      assertThat(p.correct().trials()).as(p.point()).isEqualTo(n[0]).isEqualTo(2);
      assertThat(p.correct().successes()).as(p.point()).isEqualTo(n[1]);
      lo = Math.min(lo, n[1] / 2.0);
      hi = Math.max(hi, n[1] / 2.0);
      assertThat(p.meanLength()).isEqualTo(3.0);
    }
    assertThat(x.spread()).isEqualTo(hi - lo);
    long agree = answers.values().stream().filter(v -> v.size() == 1).count();
    assertThat(x.tara().trials()).isEqualTo(8); // 2 prompts x 4 points, 2 repeats each
    assertThat(x.tara().successes()).isEqualTo(agree);
    assertThat(x.repeats()).isEqualTo(2);

    JsonNode j = new ObjectMapper().readTree(Reports.analysisJson(an));
    assertThat(j.at("/answers/prompts").asInt()).isEqualTo(2);
    assertThat(j.get("summary").asText()).contains("Answers (2 prompt(s) with an expected answer)");
    assertThat(MarkdownReport.render(j)).contains("## Answers").contains("| condition | correct |");
  }
}
