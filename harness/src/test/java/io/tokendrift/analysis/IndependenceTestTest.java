package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.apache.commons.math3.util.CombinatoricsUtils;
import org.junit.jupiter.api.Test;

/**
 * Divergence-rate independence across an axis's values: the permutation p against the exact
 * conditional p enumerated here (every table with the observed margins, weighted by its
 * multivariate hypergeometric probability), and the asymptotic p where expected counts are large.
 */
class IndependenceTestTest {
  @Test
  void smallExpectedCountsUseThePermutationTestWhichMatchesTheExactEnumeration() {
    long[][][] tables = {
      {{3, 5}, {0, 8}, {1, 7}}, // 4 divergences in 24 runs: expected 1.33 per value
      {{2, 2}, {0, 6}, {0, 5}, {1, 4}},
      {{1, 9}, {1, 9}, {1, 9}},
    };
    for (long[][] t : tables) {
      AxisStats.Test r = IndependenceTest.of(t);
      assertThat(r.name()).contains("Monte-Carlo permutation");
      double exact = exactP(t);
      // 20,000 resamples: standard error <= 0.0036; allow four of them.
      assertThat(r.p()).as(java.util.Arrays.deepToString(t)).isCloseTo(exact, within(0.015));
    }
    // Seeded: the same table gives the same p, bit for bit.
    assertThat(IndependenceTest.of(tables[0]).p()).isEqualTo(IndependenceTest.of(tables[0]).p());
  }

  @Test
  void largeExpectedCountsUseTheChiSquareApproximation() {
    long[][] t = {{20, 80}, {35, 65}, {25, 75}};
    AxisStats.Test r = IndependenceTest.of(t);
    assertThat(r.name()).isEqualTo("chi-square independence");
    assertThat(r.p()).isEqualTo(new ChiSquareTest().chiSquareTest(t));
  }

  @Test
  void nothingToTestIsNaN() {
    assertThat(IndependenceTest.of(new long[][] {{0, 5}, {0, 7}, {0, 1}}).p()).isNaN();
    assertThat(IndependenceTest.of(new long[][] {{2, 3}, {0, 0}, {1, 1}}).p()).isNaN();
  }

  /** Σ P(table) over the tables with these margins whose statistic is at least the observed one. */
  private static double exactP(long[][] t) {
    int k = t.length;
    long[] rows = new long[k];
    long[] x = new long[k];
    long c = 0;
    long n = 0;
    for (int i = 0; i < k; i++) {
      rows[i] = t[i][0] + t[i][1];
      x[i] = t[i][0];
      c += t[i][0];
      n += rows[i];
    }
    double observed = IndependenceTest.statistic(rows, x, c, n);
    double[] p = {0};
    enumerate(rows, new long[k], 0, c, c, n, observed, p);
    return p[0];
  }

  private static void enumerate(
      long[] rows, long[] x, int i, long left, long c, long n, double observed, double[] p) {
    if (i == rows.length) {
      if (left != 0) {
        return;
      }
      double logP = -CombinatoricsUtils.binomialCoefficientLog((int) n, (int) c);
      for (int j = 0; j < rows.length; j++) {
        logP += CombinatoricsUtils.binomialCoefficientLog((int) rows[j], (int) x[j]);
      }
      if (IndependenceTest.statistic(rows, x, c, n) >= observed * (1 - 1e-12)) {
        p[0] += Math.exp(logP);
      }
      return;
    }
    for (long v = 0; v <= Math.min(rows[i], left); v++) {
      x[i] = v;
      enumerate(rows, x, i + 1, left - v, c, n, observed, p);
    }
  }
}
