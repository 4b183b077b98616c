package io.tokendrift.analysis;

import java.util.Arrays;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;

/**
 * Rank tests that stay right on small samples full of ties (Div_Index values are integers, margins
 * repeat across runs): the two-sample Kolmogorov–Smirnov test, exact conditional on the pooled
 * values, and the one-sided Mann–Whitney U test, exact for small samples and with continuity and
 * tie corrections beyond.
 */
final class RankTests {
  /**
   * Largest n·m for the exact Kolmogorov–Smirnov p-value: its cost is O(n·m) (0.1 s at this size);
   * beyond, the asymptotic distribution is accurate to well under 1%.
   */
  static final long KS_EXACT_CELLS = 25_000_000L;

  /**
   * Largest pooled size for the exact Mann–Whitney p-value: subset counts up to C(60, 30) ≈ 1.2e17
   * fit a long exactly; beyond, the normal approximation with corrections is accurate.
   */
  static final int MW_EXACT_MAX = 60;

  private RankTests() {}

  /**
   * Two-sample Kolmogorov–Smirnov: D = max |F_a − F_b| and P(D' ≥ D) over all splits of the pooled
   * values into samples of these sizes (ties kept: the empirical CDFs are compared only where the
   * pooled value changes). NaN for an empty sample.
   */
  static double[] kolmogorovSmirnov(double[] a, double[] b) {
    int n = a.length;
    int m = b.length;
    if (n == 0 || m == 0) {
      return new double[] {Double.NaN, Double.NaN};
    }
    double[] x = a.clone();
    double[] y = b.clone();
    Arrays.sort(x);
    Arrays.sort(y);
    double[] pooled = new double[n + m];
    System.arraycopy(x, 0, pooled, 0, n);
    System.arraycopy(y, 0, pooled, n, m);
    Arrays.sort(pooled);
    // blockEnd[k]: after k pooled values a new value starts (or the sample ends), so the two
    // empirical CDFs can be compared there.
    boolean[] blockEnd = new boolean[n + m + 1];
    long dScaled = 0; // max |i·m − j·n| at block ends: D = dScaled / (n·m), compared exactly
    int i = 0;
    int j = 0;
    for (int k = 1; k <= n + m; k++) {
      blockEnd[k] = k == n + m || pooled[k] != pooled[k - 1];
      if (blockEnd[k]) {
        double v = pooled[k - 1];
        while (i < n && x[i] <= v) {
          i++;
        }
        while (j < m && y[j] <= v) {
          j++;
        }
        dScaled = Math.max(dScaled, Math.abs((long) i * m - (long) j * n));
      }
    }
    double d = dScaled / ((double) n * m);
    double p =
        (long) n * m <= KS_EXACT_CELLS
            ? exactKsP(n, m, blockEnd, dScaled)
            : Math.min(1, new KolmogorovSmirnovTest().approximateP(d, n, m));
    return new double[] {d, p};
  }

  /**
   * The probability that a uniformly random split reaches |i·m − j·n| ≥ dScaled at some block end:
   * a walk over (i, j) whose steps take the next pooled value from a or from b with the
   * probabilities of drawing without replacement.
   */
  private static double exactKsP(int n, int m, boolean[] blockEnd, long dScaled) {
    double[] prob =
        new double[n + 1]; // prob[i]: still inside the band, i taken from a, k − i from b
    prob[0] = 1;
    double exceeded = 0;
    for (int k = 0; k < n + m; k++) {
      double[] next = new double[n + 1];
      int left = n + m - k;
      for (int ia = Math.max(0, k - m); ia <= Math.min(k, n); ia++) {
        double q = prob[ia];
        if (q == 0) {
          continue;
        }
        int jb = k - ia;
        if (ia < n) {
          next[ia + 1] += q * (n - ia) / left;
        }
        if (jb < m) {
          next[ia] += q * (m - jb) / left;
        }
      }
      if (blockEnd[k + 1]) {
        for (int ia = Math.max(0, k + 1 - m); ia <= Math.min(k + 1, n); ia++) {
          long gap = Math.abs((long) ia * m - (long) (k + 1 - ia) * n);
          if (gap >= dScaled) {
            exceeded += next[ia];
            next[ia] = 0;
          }
        }
      }
      prob = next;
    }
    return Math.min(1, exceeded);
  }

  /**
   * One-sided Mann–Whitney U: the p-value of "x tends to be smaller than y". Exact (all splits of
   * the pooled midranks, ties included) up to {@link #MW_EXACT_MAX} pooled values; beyond, the
   * normal approximation with continuity and tie corrections (as scipy's {@code mannwhitneyu}
   * asymptotic method). NaN for an empty sample.
   */
  static double mannWhitneyLess(double[] x, double[] y) {
    int n = x.length;
    int m = y.length;
    if (n == 0 || m == 0) {
      return Double.NaN;
    }
    double[] pooled = new double[n + m];
    System.arraycopy(x, 0, pooled, 0, n);
    System.arraycopy(y, 0, pooled, n, m);
    double[] sorted = pooled.clone();
    Arrays.sort(sorted);
    // Twice the midranks: integers even with ties.
    int[] twiceRank = new int[n + m];
    for (int k = 0; k < n + m; k++) {
      int lo = lowerBound(sorted, pooled[k]);
      int hi = upperBound(sorted, pooled[k]);
      twiceRank[k] = lo + hi + 1; // (lo + 1 + hi) / 2 ranks, doubled
    }
    long observed = 0; // twice x's rank sum: small when x is smaller
    for (int k = 0; k < n; k++) {
      observed += twiceRank[k];
    }
    if (n + m <= MW_EXACT_MAX) {
      return exactRankSumAtMost(twiceRank, n, observed);
    }
    double u2 = Stats.uStatistic(x, y); // pairs with x < y, ties half
    double ties = 0;
    for (int k = 0; k < n + m; ) {
      int t = upperBound(sorted, sorted[k]) - k;
      ties += (double) t * t * t - t;
      k += t;
    }
    int total = n + m;
    double var = n * (double) m / 12 * ((total + 1) - ties / ((double) total * (total - 1)));
    if (!(var > 0)) {
      return 1; // every value tied: no evidence either way
    }
    double z = (u2 - n * (double) m / 2 - 0.5) / Math.sqrt(var);
    return 1 - new NormalDistribution(null, 0, 1).cumulativeProbability(z);
  }

  /** P(twice the rank sum of a random n-subset ≤ observed), by counting subsets per sum. */
  private static double exactRankSumAtMost(int[] twiceRank, int n, long observed) {
    int maxSum = 0;
    for (int r : twiceRank) {
      maxSum += r;
    }
    long[][] ways = new long[n + 1][maxSum + 1]; // ways[c][s]: c values chosen, doubled sum s
    ways[0][0] = 1;
    for (int r : twiceRank) {
      for (int c = n; c >= 1; c--) {
        long[] to = ways[c];
        long[] from = ways[c - 1];
        for (int s = maxSum; s >= r; s--) {
          to[s] += from[s - r];
        }
      }
    }
    double below = 0;
    double all = 0;
    for (int s = 0; s <= maxSum; s++) {
      all += ways[n][s];
      if (s <= observed) {
        below += ways[n][s];
      }
    }
    return below / all;
  }

  static int lowerBound(double[] s, double v) {
    int lo = 0;
    int hi = s.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (s[mid] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  static int upperBound(double[] s, double v) {
    int lo = 0;
    int hi = s.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (s[mid] <= v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
}
