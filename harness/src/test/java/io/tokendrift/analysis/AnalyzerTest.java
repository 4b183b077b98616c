package io.tokendrift.analysis;

import static io.tokendrift.analysis.SyntheticTraces.BATCH4;
import static io.tokendrift.analysis.SyntheticTraces.REF;
import static io.tokendrift.analysis.SyntheticTraces.SPLITK;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.report.Reports;
import io.tokendrift.report.Sentences;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Synthetic traces with known answers: two prompts; at the reference point one repeat more; at
 * batch 4 one identical run and one that flips at a near-tie (margin 0.001, drift 0.001); at
 * split-K one that flips where the margin is 1.5 with the same small drift.
 */
class AnalyzerTest {
  @TempDir Path dir;
  Path trace;
  Analysis a;

  static final double[] MARGINS = {2.0, 0.001, 1.5, 0.5, 3.0};
  static final float D = 1e-3f;

  @BeforeEach
  void build() {
    float[][] base = SyntheticTraces.logits(MARGINS);
    int[] ta = {10, 11, 12, 13, 14};
    int[] tb = {10, 11, 12, 13, 14};
    List<RunRecord> runs =
        SyntheticTraces.list(
            SyntheticTraces.run("ref-a", "a", REF, 0, ta, base, new float[5], -1),
            SyntheticTraces.run("ref-a-rep1", "a", REF, 1, ta, base, new float[5], -1),
            SyntheticTraces.run("ref-b", "b", REF, 0, tb, base, new float[5], -1),
            SyntheticTraces.run(
                "b4-same", "a", BATCH4, 0, ta, base, SyntheticTraces.fill(5, D), -1),
            SyntheticTraces.run(
                "b4-div",
                "b",
                BATCH4,
                0,
                new int[] {10, 901, 50, 51, 52},
                base,
                SyntheticTraces.fill(5, D),
                1),
            SyntheticTraces.run(
                "splitk-div",
                "a",
                SPLITK,
                0,
                new int[] {10, 11, 902, 60, 61},
                base,
                SyntheticTraces.fill(5, D),
                2));
    trace = dir.resolve("t.jsonl");
    SyntheticTraces.write(trace, SyntheticTraces.header(6, "0.0"), runs);
    a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
  }

  Map<String, RunResult> byId() {
    return a.runs().stream().collect(Collectors.toMap(RunResult::id, r -> r));
  }

  /** |Δ| of a logit l shifted by D in float32, as the trace stores it. */
  static float shift(float l) {
    return Math.abs((l + D) - l);
  }

  /** The per-step drift the test expects: the largest shift among the step's four logits. */
  static float stepDrift(int i) {
    float[] l = SyntheticTraces.logits(MARGINS)[i];
    float m = 0;
    for (float v : l) {
      m = Math.max(m, shift(v));
    }
    return m;
  }

  @Test
  void withTokenTextIsACopyAndLeavesTheAnalysisAsItWas() {
    String before = Reports.analysisJson(a);
    Analysis named = a.withTokenText(id -> "<" + id + ">");
    assertThat(named).isNotSameAs(a);
    assertThat(a.text(901)).isEqualTo("#901");
    assertThat(named.text(901)).isEqualTo("<901>");
    assertThat(Reports.analysisJson(a)).isEqualTo(before);
    assertThat(Reports.analysisJson(named)).isNotEqualTo(before).contains("<901>");
    assertThat(named.runs()).isSameAs(a.runs());
  }

  @Test
  void recoversEachDivergenceItsMarginAndDrift() {
    Map<String, RunResult> r = byId();
    assertThat(r.get("ref-a").verdict()).isEqualTo(Verdict.REFERENCE);
    assertThat(r.get("ref-a-rep1").verdict()).isEqualTo(Verdict.IDENTICAL);
    assertThat(r.get("b4-same").verdict()).isEqualTo(Verdict.IDENTICAL);
    assertThat(r.get("b4-same").comparison().divIndex()).isEqualTo(-1);
    assertThat(r.get("b4-same").comparison().alignedSteps()).isEqualTo(5);
    float maxAll = 0;
    for (int i = 0; i < 5; i++) {
      assertThat(a.drift(r.get("b4-same"))[i]).isEqualTo(stepDrift(i));
      maxAll = Math.max(maxAll, stepDrift(i));
    }
    assertThat(r.get("b4-same").comparison().maxDrift()).isEqualTo(maxAll);

    Comparison div = r.get("b4-div").comparison();
    assertThat(div.divIndex()).isEqualTo(1);
    assertThat(div.alignedSteps()).isEqualTo(2);
    assertThat(div.refMargin()).isEqualTo((double) (5f - (float) (5 - 0.001)));
    assertThat(div.driftTop1()).isEqualTo((double) ((5f + D) - 5f));
    float second = (float) (5 - 0.001);
    assertThat(div.driftTop2()).isEqualTo((double) ((second + D) - second));
    assertThat(div.lengthDiff()).isZero();
    assertThat(r.get("b4-div").verdict()).isEqualTo(Verdict.EXPLAINED);

    Comparison far = r.get("splitk-div").comparison();
    assertThat(far.divIndex()).isEqualTo(2);
    assertThat(far.refMargin()).isEqualTo((double) (5f - (float) (5 - 1.5)));
    assertThat(r.get("splitk-div").verdict()).isEqualTo(Verdict.UNEXPLAINED);
  }

  @Test
  void noiseFloorIsTheQuantileOfAlignedDrift() {
    // Batch 4: five aligned steps of b4-same and two of b4-div.
    float[] v = new float[7];
    for (int i = 0; i < 5; i++) {
      v[i] = stepDrift(i);
    }
    v[5] = stepDrift(0);
    v[6] = stepDrift(1);
    Arrays.sort(v);
    double h = (v.length - 1) * 0.99;
    int lo = (int) Math.floor(h);
    double expected = v[lo] + (h - lo) * (v[Math.min(lo + 1, 6)] - v[lo]);
    Stats.Estimate f = a.pointFloors().get(PointKey.of(BATCH4.values()));
    assertThat(f.value()).isCloseTo(expected, within(1e-12));
    assertThat(f.n()).isEqualTo(7);
    assertThat(f.low()).isLessThanOrEqualTo(f.value());
    assertThat(f.high()).isGreaterThanOrEqualTo(f.value());
    // The explained run's threshold is twice the floor's upper bound, above its margin of 0.001.
    assertThat(byId().get("b4-div").threshold()).isEqualTo(2 * f.high());
    assertThat(2 * f.high()).isGreaterThan(0.001);
    // The reference's own repeats did not move at all: that axis's floor is zero.
    assertThat(a.axisFloors().get("repeat").value()).isZero();
  }

  @Test
  void aggregatesMatchIndependentComputation() throws Exception {
    // Compared: rep1, b4-same, b4-div, splitk-div; identical 2 of 4.
    Stats.Proportion p = Stats.wilson(2, 4);
    double z = 1.959963984540054;
    double n = 4;
    double phat = 0.5;
    double centre = (phat + z * z / (2 * n)) / (1 + z * z / n);
    double half = z / (1 + z * z / n) * Math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n));
    assertThat(p.low()).isCloseTo(centre - half, within(1e-9));
    assertThat(p.high()).isCloseTo(centre + half, within(1e-9));
    assertThat(a.count(Verdict.EXPLAINED)).isEqualTo(1);
    assertThat(a.count(Verdict.UNEXPLAINED)).isEqualTo(1);
    assertThat(a.divIndices()).containsExactlyInAnyOrder(1.0, 2.0);
    // Survival at batch 4: b4-div diverges at 1, b4-same is censored at 5.
    List<RunResult> b4 =
        a.compared().stream().filter(r -> r.point().equals(PointKey.of(BATCH4.values()))).toList();
    assertThat(Survival.of(b4)).containsExactly(1.0, 0.5, 0.5, 0.5, 0.5);
    // TARr: the one group with two repeats (prompt a at the reference) agrees.
    Stats.Proportion tarr = a.tarr(a.runs());
    assertThat(tarr.successes()).isEqualTo(1);
    assertThat(tarr.trials()).isEqualTo(1);
  }

  @Test
  void marginTestMatchesAHandComputedMannWhitney() {
    double[] atDiv = {5f - (float) (5 - 0.001), 5f - (float) (5 - 1.5)};
    double[] all = new double[10];
    for (int r = 0; r < 2; r++) {
      for (int i = 0; i < 5; i++) {
        all[r * 5 + i] = 5f - (float) (5 - MARGINS[i]);
      }
    }
    // 12 values, so the test is exact: p = the share of the C(12, 2) = 66 ways to pick the two
    // "divergence" values whose U (pairs x < y, ties half) is at least the observed one, counted
    // here by enumeration (the margins repeat: ties are part of the count).
    double[] pooled = new double[12];
    System.arraycopy(atDiv, 0, pooled, 0, 2);
    System.arraycopy(all, 0, pooled, 2, 10);
    double observed = Stats.uStatistic(atDiv, all);
    int atLeast = 0;
    int splits = 0;
    for (int a = 0; a < 12; a++) {
      for (int b = a + 1; b < 12; b++) {
        double[] x = {pooled[a], pooled[b]};
        double[] y = new double[10];
        int k = 0;
        for (int c = 0; c < 12; c++) {
          if (c != a && c != b) {
            y[k++] = pooled[c];
          }
        }
        splits++;
        atLeast += Stats.uStatistic(x, y) >= observed - 1e-12 ? 1 : 0;
      }
    }
    double expected = atLeast / (double) splits;
    assertThat(splits).isEqualTo(66);
    assertThat(Stats.mannWhitneyLess(atDiv, all)).isCloseTo(expected, within(1e-9));
  }

  @Test
  void fisherExactMatchesTheHypergeometricSum() {
    // [[1, 2], [1, 0]]: every table with these margins is as likely as this one or less: p = 1.
    assertThat(Stats.fisherExact(1, 2, 1, 0)).isCloseTo(1.0, within(1e-12));
    // [[8, 2], [1, 5]]: hand sum over tables at least as extreme.
    double p = 0;
    double obs = hyper(8, 10, 9, 16);
    for (int x = 3; x <= 9; x++) {
      double px = hyper(x, 10, 9, 16);
      if (px <= obs * (1 + 1e-7)) {
        p += px;
      }
    }
    assertThat(Stats.fisherExact(8, 2, 1, 5)).isCloseTo(p, within(1e-12));
    assertThat(p).isCloseTo(0.034965, within(1e-6)); // R: fisher.test(matrix(c(8,1,2,5),2))
  }

  /** P(X = x) drawing n from N with K successes. */
  static double hyper(int x, int n, int k, int total) {
    return binom(k, x) * binom(total - k, n - x) / binom(total, n);
  }

  static double binom(int n, int k) {
    if (k < 0 || k > n) {
      return 0;
    }
    double r = 1;
    for (int i = 1; i <= k; i++) {
      r = r * (n - k + i) / i;
    }
    return r;
  }

  @Test
  void analysisJsonIsByteIdenticalAndLockedByAGoldenFile() throws Exception {
    String first = Reports.analysisJson(a);
    String second =
        Reports.analysisJson(
            Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of())));
    assertThat(second).isEqualTo(first);
    String expected = "";
    try (var in = AnalyzerTest.class.getResourceAsStream("/golden/analysis-v2.json")) {
      if (in != null) {
        expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
    if (!first.equals(expected)) {
      Path out = Path.of("target", "golden-actual", "analysis-v2.json");
      Files.createDirectories(out.getParent());
      Files.writeString(out, first);
    }
    assertThat(first).isEqualTo(expected);
  }

  @Test
  void summarySaysWhatHappened() {
    assertThat(Sentences.summary(a))
        .isEqualTo(
            "2 of 4 runs diverged from their reference; 1 at near-ties within the noise floor, 1"
                + " unexplained. Divergences by changed axis: batch_size+batch_position 1,"
                + " summation 1. First divergence at token 1.5 at the median. Noise floor by"
                + " condition (99th percentile |Δlogit|, upper 95% bound): repeat 0, summation "
                + Sentences.fmt(a.axisFloors().get("summation").high())
                + ".");
  }
}
