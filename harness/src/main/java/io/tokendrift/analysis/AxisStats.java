package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Attribution to one axis the experiment varied (the trace's axes, then "repeat"): divergence by
 * value with a test of independence, and the runs at points that differ from the reference in this
 * axis alone.
 *
 * @param referenceValue the reference point's value ("0" for repeat)
 * @param values one entry per value (none for repeat), numbers in numeric order
 * @param test Fisher's exact test for two values, chi-square for more (a seeded permutation test
 *     when expected counts are small, see {@link IndependenceTest}), none for one
 * @param single the single-axis attribution
 */
record AxisStats(String axis, String referenceValue, List<Value> values, Test test, Single single) {

  /** Compared runs at one value of the axis. */
  record Value(
      String value,
      long runs,
      Stats.Proportion diverged,
      long explained,
      long unexplained,
      double[] survival) {}

  /** A test of "divergence is independent of the value"; p NaN when there is none. */
  record Test(String name, double p) {}

  /** Runs at points that differ from the reference in this axis alone. */
  record Single(
      int runs,
      Stats.Proportion diverged,
      long explained,
      long unexplained,
      double shareOfAllDivergences,
      double medianMaxDrift,
      Stats.Estimate floor) {}

  static List<AxisStats> of(Analysis a) {
    List<RunResult> cmp = a.compared();
    long allDiverged = cmp.stream().filter(r -> !r.comparison().identical()).count();
    List<String> names = new ArrayList<>(a.axes.names());
    names.add("repeat");
    List<AxisStats> out = new ArrayList<>();
    for (String axis : names) {
      Map<String, long[]> byValue = counts(axis, cmp);
      List<RunResult> single =
          cmp.stream().filter(r -> a.axes.differing(r).equals(List.of(axis))).toList();
      if (byValue.size() < 2 && single.isEmpty()) {
        continue; // an axis the experiment did not vary
      }
      List<Value> values = new ArrayList<>();
      byValue.forEach((v, c) -> values.add(value(axis, v, c, cmp)));
      out.add(
          new AxisStats(
              axis,
              axis.equals("repeat") ? "0" : Axes.value(a.reference, axis),
              values,
              test(values),
              single(a, axis, single, allDiverged)));
    }
    return out;
  }

  /** Per value: {compared, diverged, explained, unexplained}; empty for "repeat". */
  private static Map<String, long[]> counts(String axis, List<RunResult> cmp) {
    Map<String, long[]> byValue = new TreeMap<>(Comparator.comparing(AxisStats::sortKey));
    if (!axis.equals("repeat")) {
      for (RunResult r : cmp) {
        long[] c = byValue.computeIfAbsent(Axes.value(r.point(), axis), x -> new long[4]);
        c[0]++;
        if (!r.comparison().identical()) {
          c[1]++;
          c[r.verdict() == Verdict.EXPLAINED ? 2 : 3]++;
        }
      }
    }
    return byValue;
  }

  private static Value value(String axis, String value, long[] c, List<RunResult> cmp) {
    double[] survival =
        axis.equals("repeat")
            ? new double[0]
            : Survival.of(
                cmp.stream().filter(r -> Axes.value(r.point(), axis).equals(value)).toList());
    return new Value(value, c[0], Stats.wilson(c[1], c[0]), c[2], c[3], survival);
  }

  private static Test test(List<Value> values) {
    long[][] table = new long[values.size()][];
    for (int i = 0; i < table.length; i++) {
      Value v = values.get(i);
      long diverged = v.diverged().successes();
      table[i] = new long[] {diverged, v.runs() - diverged};
    }
    if (table.length == 2) {
      return new Test(
          "fisher-exact (two-sided)",
          Stats.fisherExact(table[0][0], table[0][1], table[1][0], table[1][1]));
    } else if (table.length > 2) {
      return IndependenceTest.of(table);
    }
    return new Test("none (one value)", Double.NaN);
  }

  private static Single single(Analysis a, String axis, List<RunResult> single, long allDiverged) {
    long d = single.stream().filter(r -> !r.comparison().identical()).count();
    return new Single(
        single.size(),
        Stats.wilson(d, single.size()),
        single.stream().filter(r -> r.verdict() == Verdict.EXPLAINED).count(),
        single.stream().filter(r -> r.verdict() == Verdict.UNEXPLAINED).count(),
        allDiverged == 0 ? 0 : d / (double) allDiverged,
        single.isEmpty()
            ? Double.NaN
            : Stats.quantile(
                single.stream().mapToDouble(r -> r.comparison().maxDrift()).toArray(), 0.5),
        a.floors.byAxis().get(axis));
  }

  /** Numbers sort as numbers, other values as text. */
  static String sortKey(String v) {
    try {
      double d = Double.parseDouble(v);
      return String.format(Locale.ROOT, "0%020.6f", d + 1e9);
    } catch (NumberFormatException e) {
      return "1" + v;
    }
  }
}
