package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Do runs diverge where the reference was close to a tie? The reference's margins at divergence
 * steps against its margins at every step (a Mann–Whitney test and two histograms), and the flip
 * rate of aligned greedy steps by margin bin.
 */
record MarginTests(MannWhitney mannWhitney, Histogram histogram, List<FlipBin> flipRate) {

  /** Bins of the reference margin (nats) for the flip-rate table. */
  static final double[] MARGIN_BINS = {
    0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, Double.POSITIVE_INFINITY
  };

  /** Half-decade log bins of the margin histogram: 1e-7 .. 1e3. */
  static final int LOG_BINS = 20;

  /**
   * Margins at the distinct reference steps where a greedy run diverged, against the margins at
   * every other reference step (one-sided: are the former smaller?).
   */
  record MannWhitney(
      int nDivergence, int nOther, double medianDivergence, double medianOther, double p) {}

  /**
   * Reference margins in half-decade bins.
   *
   * @param edges the LOG_BINS + 1 bin edges (nats)
   */
  record Histogram(double[] edges, long[] allSteps, long[] divergenceSteps) {}

  /** Aligned greedy steps with a reference margin in [from, to), and how many flipped there. */
  record FlipBin(double from, double to, Stats.Proportion flips) {}

  static MarginTests of(Analysis a) {
    List<RunResult> cmp = a.compared();
    // One observation per distinct reference step where some greedy run diverged: two runs that
    // leave the same reference at the same step are one near-tie, not two.
    Map<String, Set<Integer>> divSteps = new TreeMap<>();
    for (RunResult r : cmp) {
      Comparison c = r.comparison();
      if (!r.sampled() && !c.identical() && !c.prefixOnly() && !Double.isNaN(c.refMargin())) {
        divSteps.computeIfAbsent(a.referenceOf(r).id(), k -> new TreeSet<>()).add(c.divIndex());
      }
    }
    List<Double> atDivList = new ArrayList<>();
    List<Double> other = new ArrayList<>();
    for (Reference ref : a.sortedRefs()) {
      Set<Integer> div = divSteps.getOrDefault(ref.id(), Set.of());
      for (int i = 0; i < ref.size(); i++) {
        float m = ref.margin(i);
        if (!Float.isNaN(m)) { // no runner-up recorded: no margin to test
          (div.contains(i) ? atDivList : other).add((double) m);
        }
      }
    }
    double[] atDiv = atDivList.stream().mapToDouble(Double::doubleValue).toArray();
    double[] otherM = other.stream().mapToDouble(Double::doubleValue).toArray();
    MannWhitney mw =
        new MannWhitney(
            atDiv.length,
            otherM.length,
            atDiv.length == 0 ? Double.NaN : Stats.quantile(atDiv, 0.5),
            otherM.length == 0 ? Double.NaN : Stats.quantile(otherM, 0.5),
            Stats.mannWhitneyLess(atDiv, otherM));
    return new MarginTests(mw, histogram(concat(atDiv, otherM), atDiv), flipRate(a, cmp));
  }

  private static double[] concat(double[] a, double[] b) {
    double[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static Histogram histogram(double[] allM, double[] atDiv) {
    double[] edges = new double[LOG_BINS + 1];
    for (int b = 0; b <= LOG_BINS; b++) {
      edges[b] = Math.pow(10, -7 + b * 0.5);
    }
    long[] hAll = new long[LOG_BINS];
    long[] hDiv = new long[LOG_BINS];
    for (double m : allM) {
      hAll[logBin(m, LOG_BINS)]++;
    }
    for (double m : atDiv) {
      hDiv[logBin(m, LOG_BINS)]++;
    }
    return new Histogram(edges, hAll, hDiv);
  }

  /** Flip rate against the reference margin, over every aligned greedy step. */
  private static List<FlipBin> flipRate(Analysis a, List<RunResult> cmp) {
    long[] steps = new long[MARGIN_BINS.length - 1];
    long[] flips = new long[MARGIN_BINS.length - 1];
    for (RunResult r : cmp) {
      if (r.sampled()) {
        continue;
      }
      Comparison c = r.comparison();
      Reference ref = a.referenceOf(r);
      int last = c.identical() ? c.alignedSteps() : Math.min(c.alignedSteps(), c.divIndex() + 1);
      for (int i = 0; i < last && i < ref.size(); i++) {
        if (Float.isNaN(ref.margin(i))) {
          continue;
        }
        int b = bin(ref.margin(i));
        steps[b]++;
        if (i == c.divIndex() && !c.prefixOnly()) {
          flips[b]++;
        }
      }
    }
    List<FlipBin> out = new ArrayList<>();
    for (int b = 0; b < steps.length; b++) {
      out.add(new FlipBin(MARGIN_BINS[b], MARGIN_BINS[b + 1], Stats.wilson(flips[b], steps[b])));
    }
    return out;
  }

  static int logBin(double m, int nb) {
    if (!(m > 1e-7)) {
      return 0;
    }
    return Math.min(nb - 1, (int) Math.floor((Math.log10(m) + 7) * 2));
  }

  static int bin(double margin) {
    for (int b = 0; b < MARGIN_BINS.length - 1; b++) {
      if (margin < MARGIN_BINS[b + 1]) {
        return b;
      }
    }
    return MARGIN_BINS.length - 2;
  }
}
