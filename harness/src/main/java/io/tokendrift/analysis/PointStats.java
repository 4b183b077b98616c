package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.trace.PointKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The aggregates of one point: agreement with the reference, verdicts, floor, drift, where runs
 * diverged, survival, the steps at risk, and repeatability.
 */
record PointStats(
    PointKey point,
    boolean reference,
    int runs,
    int compared,
    Stats.Proportion identical,
    long explained,
    long unexplained,
    Stats.Estimate floor,
    double maxDrift,
    double maxDriftUlps,
    DivIndex divIndex,
    double[] survival,
    AtRisk atRisk,
    Stats.Proportion tarr) {

  /** Div_Index of the point's divergent runs: count, median, quartiles, histogram by step. */
  record DivIndex(int n, double median, double q1, double q3, int[] histogram) {}

  /**
   * Reference steps whose margin the point's floor could cross, and runs predicted to diverge.
   *
   * @param threshold twice the point's floor (upper bound)
   * @param steps reference steps (over the compared runs) with a margin within the threshold
   * @param predicted runs whose reference has at least one such step
   * @param observed runs that diverged
   */
  record AtRisk(double threshold, long steps, long predicted, long observed) {}

  /** One entry per point, in run order. */
  static List<PointStats> of(Analysis a) {
    Map<PointKey, List<RunResult>> byPoint = new LinkedHashMap<>();
    for (RunResult r : a.runs) {
      byPoint.computeIfAbsent(r.point(), x -> new ArrayList<>()).add(r);
    }
    List<PointStats> out = new ArrayList<>();
    byPoint.forEach((p, rs) -> out.add(of(a, p, rs)));
    return out;
  }

  private static PointStats of(Analysis a, PointKey p, List<RunResult> rs) {
    List<RunResult> cmp = rs.stream().filter(r -> r.comparison() != null).toList();
    long same = cmp.stream().filter(r -> r.comparison().identical()).count();
    return new PointStats(
        p,
        p.equals(a.reference),
        rs.size(),
        cmp.size(),
        Stats.wilson(same, cmp.size()),
        cmp.stream().filter(r -> r.verdict() == Verdict.EXPLAINED).count(),
        cmp.stream().filter(r -> r.verdict() == Verdict.UNEXPLAINED).count(),
        a.floors.byPoint().get(p),
        cmp.stream().mapToDouble(r -> r.comparison().maxDrift()).max().orElse(0),
        cmp.stream().mapToDouble(r -> r.comparison().maxDriftUlps()).max().orElse(0),
        divIndex(cmp),
        Survival.of(cmp),
        atRisk(a, a.floors.threshold(p), cmp),
        a.tarr(rs));
  }

  private static AtRisk atRisk(Analysis a, double threshold, List<RunResult> cmp) {
    long steps = 0;
    long predicted = 0;
    long observed = 0;
    for (RunResult r : cmp) {
      Reference ref = a.referenceOf(r);
      boolean risky = false;
      for (int i = 0; i < ref.size(); i++) {
        if (ref.margin(i) <= threshold) {
          steps++;
          risky = true;
        }
      }
      predicted += risky ? 1 : 0;
      observed += r.comparison().identical() ? 0 : 1;
    }
    return new AtRisk(threshold, steps, predicted, observed);
  }

  private static DivIndex divIndex(List<RunResult> cmp) {
    double[] d =
        cmp.stream()
            .filter(r -> !r.comparison().identical())
            .mapToDouble(r -> r.comparison().divIndex())
            .toArray();
    int max = 0;
    for (double v : d) {
      max = Math.max(max, (int) v);
    }
    int[] counts = new int[d.length == 0 ? 0 : max + 1];
    for (double v : d) {
      counts[(int) v]++;
    }
    return new DivIndex(
        d.length,
        d.length == 0 ? Double.NaN : Stats.quantile(d, 0.5),
        d.length == 0 ? Double.NaN : Stats.quantile(d, 0.25),
        d.length == 0 ? Double.NaN : Stats.quantile(d, 0.75),
        counts);
  }
}
