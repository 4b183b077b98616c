package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The rank tests against values computed independently: scipy 1.10 (Debian's python3-scipy) where
 * it is exact for the case, and where it is not (ties), a brute-force enumeration of every split of
 * the pooled values written here.
 */
class RankTestsTest {
  private static final double[] X = {
    0.0, 0.3, -0.3, -0.9, -0.5, -1.0, 0.1, 1.3, -0.5, -0.6, 0.5, 0.4, 0.1, -0.9, 0.0, 0.7, -1.3,
    -0.5, -1.9, -1.3, -1.8, -0.2, -1.3, 0.3, 0.2, -0.2, -2.5, -0.5, 0.0, 0.1, -1.5, -0.5, -1.0,
    -0.8, 1.1, -0.8, 0.0, 0.9, -0.6, -0.1
  };
  private static final double[] Y = {
    0.5, 0.5, -0.8, 0.5, 1.8, -1.1, 1.3, 0.5, -0.2, 2.4, 1.2, -0.8, 0.5, 1.0, 0.2, 1.1, 0.3, 1.1,
    1.8, -0.3, 0.6, -0.1, 0.5, -0.8, -0.2, 0.2, 1.3, 1.5, -0.9, -0.4, 1.0, -1.6, -0.1, 0.3, 1.7,
    1.1, 0.1, 0.0, 0.1, 1.9, 0.0, 0.1, 0.8, 0.3, 0.2
  };

  @Test
  void ksMatchesScipyExactWithoutTies() {
    // scipy.stats.ks_2samp(a, b, method='exact'): statistic 0.43333333333333335, p
    // 0.5909090909090909
    double[] r =
        Stats.kolmogorovSmirnov(
            new double[] {0.1, 0.4, 0.7, 1.3, 2.2}, new double[] {0.3, 0.9, 1.1, 1.8, 2.5, 3.0});
    assertThat(r[0]).isCloseTo(13.0 / 30, within(1e-15));
    assertThat(r[1]).isCloseTo(0.5909090909090909, within(1e-12));
  }

  @Test
  void ksIsPOfAtLeastD() {
    // {1,2,3} vs {4,5,6}: D = 1, reached by 2 of the C(6,3) = 20 splits -> p = 0.1 (scipy: 0.1);
    // the library's default call gave 0 (it returns P(D > d)).
    double[] r = Stats.kolmogorovSmirnov(new double[] {1, 2, 3}, new double[] {4, 5, 6});
    assertThat(r[0]).isEqualTo(1.0);
    assertThat(r[1]).isCloseTo(0.1, within(1e-12));
    // Identical constant samples: D = 0 and every split reaches it -> p = 1 (was 0.143).
    double[] same = Stats.kolmogorovSmirnov(new double[] {5, 5, 5}, new double[] {5, 5});
    assertThat(same[0]).isEqualTo(0.0);
    assertThat(same[1]).isEqualTo(1.0);
    // n = 1 each, different: D = 1, both splits reach it -> p = 1.
    assertThat(Stats.kolmogorovSmirnov(new double[] {1}, new double[] {2})[1]).isEqualTo(1.0);
  }

  @Test
  void ksWithTiesEqualsTheEnumerationOfEverySplit() {
    double[][][] cases = {
      {{3, 3, 4, 7, 7, 7}, {3, 5, 7, 8, 8}},
      {{1, 1, 1, 2}, {1, 2, 2, 2, 3}},
      {{10, 12, 12, 12, 15, 20, 20}, {12, 15, 15, 21}},
      {{0, 0}, {0, 0, 0, 1}},
    };
    for (double[][] c : cases) {
      double[] r = Stats.kolmogorovSmirnov(c[0], c[1]);
      assertThat(r[1]).as(Arrays.deepToString(c)).isCloseTo(bruteKs(c[0], c[1]), within(1e-12));
    }
  }

  @Test
  void mannWhitneyMatchesScipyExactWithoutTies() {
    // scipy.stats.mannwhitneyu(x, y, alternative='less', method='exact').pvalue = 1/18
    double p =
        Stats.mannWhitneyLess(
            new double[] {0.5, 1.2, 2.3, 0.1}, new double[] {1.5, 2.8, 3.1, 0.9, 4.0});
    assertThat(p).isCloseTo(0.05555555555555555, within(1e-12));
  }

  @Test
  void mannWhitneyWithTiesAndTinySamplesEqualsTheEnumeration() {
    double[][][] cases = {
      {{1, 2, 2, 3}, {2, 3, 3, 4, 4}},
      {{0.01, 0.01, 0.5}, {0.01, 0.2, 0.2, 0.9, 0.9, 1.5}},
      {{1}, {2}},
      {{2}, {1}},
      {{4, 4}, {4, 4, 4}},
      {{1, 5, 5, 5, 9, 9}, {5, 9, 9, 12}},
    };
    for (double[][] c : cases) {
      assertThat(Stats.mannWhitneyLess(c[0], c[1]))
          .as(Arrays.deepToString(c))
          .isCloseTo(bruteMw(c[0], c[1]), within(1e-12));
    }
  }

  @Test
  void mannWhitneyBeyondTheExactSizeMatchesScipysCorrectedApproximation() {
    // 85 values with many ties (so the normal approximation is used):
    // scipy.stats.mannwhitneyu(X, Y, alternative='less', method='asymptotic',
    // use_continuity=True).pvalue = 2.861863427032503e-05 (scipy applies the tie correction).
    assertThat(X.length + Y.length).isGreaterThan(RankTests.MW_EXACT_MAX);
    assertThat(Stats.mannWhitneyLess(X, Y)).isCloseTo(2.861863427032503e-05, within(1e-12));
    // All values tied: no evidence, p = 1.
    double[] t = new double[70];
    assertThat(Stats.mannWhitneyLess(t, t)).isEqualTo(1.0);
  }

  @Test
  void wilsonBoundsAreExactAtZeroAndAllSuccesses() {
    assertThat(Stats.wilson(0, 10).low()).isEqualTo(0.0);
    assertThat(Stats.wilson(10, 10).high()).isEqualTo(1.0);
    // 0 of 10: upper bound z²/(n + z²) = 3.8415/13.8415 (the Wilson formula at p̂ = 0).
    double z2 = 1.959963984540054 * 1.959963984540054;
    assertThat(Stats.wilson(0, 10).high()).isCloseTo(z2 / (10 + z2), within(1e-12));
  }

  // --- the independent second method: every split of the pooled values, equally likely ---

  private static double bruteKs(double[] a, double[] b) {
    double d = ksStatistic(a, b);
    double[] pooled = concat(a, b);
    int[] hits = {0, 0};
    splits(
        pooled,
        a.length,
        (x, y) -> {
          hits[1]++;
          if (ksStatistic(x, y) >= d - 1e-12) {
            hits[0]++;
          }
        });
    return hits[0] / (double) hits[1];
  }

  private static double bruteMw(double[] a, double[] b) {
    double u = Stats.uStatistic(a, b);
    double[] pooled = concat(a, b);
    int[] hits = {0, 0};
    splits(
        pooled,
        a.length,
        (x, y) -> {
          hits[1]++;
          if (Stats.uStatistic(x, y) >= u - 1e-12) {
            hits[0]++;
          }
        });
    return hits[0] / (double) hits[1];
  }

  private static double ksStatistic(double[] a, double[] b) {
    double d = 0;
    for (double v : concat(a, b)) {
      d = Math.max(d, Math.abs(cdf(a, v) - cdf(b, v)));
    }
    return d;
  }

  private static double cdf(double[] s, double v) {
    int c = 0;
    for (double x : s) {
      c += x <= v ? 1 : 0;
    }
    return c / (double) s.length;
  }

  private static double[] concat(double[] a, double[] b) {
    double[] p = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, p, a.length, b.length);
    return p;
  }

  private interface SplitConsumer {
    void accept(double[] x, double[] y);
  }

  /** Every choice of n positions of {@code pooled} as the first sample (C(N, n) of them). */
  private static void splits(double[] pooled, int n, SplitConsumer c) {
    int total = pooled.length;
    for (int mask = 0; mask < 1 << total; mask++) {
      if (Integer.bitCount(mask) != n) {
        continue;
      }
      double[] x = new double[n];
      double[] y = new double[total - n];
      int xi = 0;
      int yi = 0;
      for (int k = 0; k < total; k++) {
        if ((mask & 1 << k) != 0) {
          x[xi++] = pooled[k];
        } else {
          y[yi++] = pooled[k];
        }
      }
      c.accept(x, y);
    }
  }
}
