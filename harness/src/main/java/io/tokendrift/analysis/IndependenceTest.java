package io.tokendrift.analysis;

import java.util.SplittableRandom;
import org.apache.commons.math3.stat.inference.ChiSquareTest;

/**
 * Is divergence independent of an axis's value? For an r × 2 table (values × diverged / not):
 * Pearson's chi-square with its asymptotic p-value when every expected count is at least 5
 * (Cochran's rule, where the approximation is accurate); otherwise a seeded Monte-Carlo permutation
 * test of the same statistic conditional on the margins (the Fisher–Freeman–Halton null), so the
 * same traces give the same p-value.
 */
final class IndependenceTest {
  /** Resamples of the permutation test: the p-value's standard error is below 0.0016. */
  static final int RESAMPLES = 20_000;

  /** Fixed seed: the analysis of the same traces must be byte-identical. */
  static final long SEED = 0x7d5eedL;

  private IndependenceTest() {}

  /**
   * The test's name and p-value; NaN when a row or column is empty (nothing to test).
   *
   * @param table one row per value: {diverged, not diverged}
   */
  static AxisStats.Test of(long[][] table) {
    long n = 0;
    long[] col = new long[2];
    for (long[] row : table) {
      if (row[0] + row[1] == 0) {
        return new AxisStats.Test("chi-square independence", Double.NaN);
      }
      col[0] += row[0];
      col[1] += row[1];
      n += row[0] + row[1];
    }
    if (col[0] == 0 || col[1] == 0) {
      return new AxisStats.Test("chi-square independence", Double.NaN);
    }
    double minExpected = Double.POSITIVE_INFINITY;
    for (long[] row : table) {
      double r = row[0] + row[1];
      minExpected = Math.min(minExpected, r * Math.min(col[0], col[1]) / n);
    }
    if (minExpected >= 5) {
      return new AxisStats.Test(
          "chi-square independence", new ChiSquareTest().chiSquareTest(table));
    }
    return new AxisStats.Test(
        "chi-square independence, Monte-Carlo permutation p ("
            + RESAMPLES
            + " seeded resamples; expected counts below 5)",
        permutationP(table, col[0], n));
  }

  /** Pearson's statistic of the r × 2 table with diverged counts {@code x} and these margins. */
  static double statistic(long[] rows, long[] x, long diverged, long n) {
    double s = 0;
    for (int i = 0; i < rows.length; i++) {
      double e1 = (double) rows[i] * diverged / n;
      double e0 = (double) rows[i] * (n - diverged) / n;
      double o0 = rows[i] - x[i];
      s += (x[i] - e1) * (x[i] - e1) / e1 + (o0 - e0) * (o0 - e0) / e0;
    }
    return s;
  }

  /**
   * (1 + resamples at least as extreme) / (1 + resamples): each resample deals the {@code diverged}
   * flags to the n runs at random (a partial Fisher–Yates shuffle), which keeps both margins.
   */
  static double permutationP(long[][] table, long diverged, long n) {
    long[] rows = new long[table.length];
    long[] x = new long[table.length];
    for (int i = 0; i < table.length; i++) {
      rows[i] = table[i][0] + table[i][1];
      x[i] = table[i][0];
    }
    double observed = statistic(rows, x, diverged, n);
    int[] rowOf = new int[(int) n];
    int k = 0;
    for (int i = 0; i < rows.length; i++) {
      for (long j = 0; j < rows[i]; j++) {
        rowOf[k++] = i;
      }
    }
    SplittableRandom rng = new SplittableRandom(SEED);
    long atLeast = 0;
    long[] sample = new long[rows.length];
    for (int b = 0; b < RESAMPLES; b++) {
      java.util.Arrays.fill(sample, 0);
      for (int j = 0; j < diverged; j++) {
        int pick = j + rng.nextInt((int) n - j);
        int t = rowOf[j];
        rowOf[j] = rowOf[pick];
        rowOf[pick] = t;
        sample[rowOf[j]]++;
      }
      // A relative tolerance keeps tables equal to the observed one from losing to rounding.
      if (statistic(rows, sample, diverged, n) >= observed * (1 - 1e-12)) {
        atLeast++;
      }
    }
    return (1 + atLeast) / (1.0 + RESAMPLES);
  }
}
