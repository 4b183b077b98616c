package io.tokendrift.analysis;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.HypergeometricDistribution;
import org.apache.commons.math3.stat.interval.ConfidenceInterval;
import org.apache.commons.math3.stat.interval.WilsonScoreInterval;

/** The statistics the analysis reports, on Apache Commons Math where it has them. */
public final class Stats {
  private Stats() {}

  /** A proportion with its Wilson 95% interval. */
  public record Proportion(long successes, long trials, double rate, double low, double high) {}

  /** successes / trials with the Wilson score interval at 95% (rate NaN when trials = 0). */
  public static Proportion wilson(long successes, long trials) {
    if (trials == 0) {
      return new Proportion(0, 0, Double.NaN, Double.NaN, Double.NaN);
    }
    ConfidenceInterval ci =
        new WilsonScoreInterval().createInterval((int) trials, (int) successes, 0.95);
    // At 0 (or all) successes the Wilson bound is exactly 0 (or 1); the library's floating-point
    // formula leaves ~1e-18 there.
    double low = successes == 0 ? 0 : ci.getLowerBound();
    double high = successes == trials ? 1 : ci.getUpperBound();
    return new Proportion(successes, trials, successes / (double) trials, low, high);
  }

  /**
   * The q-quantile (0..1) of {@code v}, linear between order statistics (R's type 7, numpy's
   * default); NaN for an empty array.
   */
  public static double quantile(float[] v, double q) {
    if (v.length == 0) {
      return Double.NaN;
    }
    float[] s = v.clone();
    Arrays.sort(s);
    return sortedQuantile(s, q);
  }

  /** The same quantile for doubles (NaN for an empty array). */
  public static double quantile(double[] v, double q) {
    if (v.length == 0) {
      return Double.NaN;
    }
    double[] s = v.clone();
    Arrays.sort(s);
    double h = (s.length - 1) * q;
    int lo = (int) Math.floor(h);
    int hi = Math.min(lo + 1, s.length - 1);
    return s[lo] + (h - lo) * (s[hi] - s[lo]);
  }

  static double sortedQuantile(float[] s, double q) {
    double h = (s.length - 1) * q;
    int lo = (int) Math.floor(h);
    int hi = Math.min(lo + 1, s.length - 1);
    return s[lo] + (h - lo) * ((double) s[hi] - s[lo]);
  }

  /** A statistic with a bootstrap percentile interval. */
  public record Estimate(double value, double low, double high, int n) {}

  /**
   * The q-quantile of {@code v} with a 95% percentile-bootstrap interval ({@code resamples}
   * resamples of at most {@code cap} values, drawn from a seeded generator: the same input gives
   * the same interval).
   */
  public static Estimate bootstrapQuantile(float[] v, double q, int resamples, int cap, long seed) {
    if (v.length == 0) {
      return new Estimate(Double.NaN, Double.NaN, Double.NaN, 0);
    }
    double value = quantile(v, q);
    // Large samples: bootstrap an evenly strided subsample, which keeps the interval honest (it
    // can only widen) and the cost bounded.
    float[] base = v;
    if (v.length > cap) {
      base = new float[cap];
      for (int i = 0; i < cap; i++) {
        base[i] = v[(int) ((long) i * v.length / cap)];
      }
    }
    float[] sorted = base.clone();
    Arrays.sort(sorted);
    return bootstrapSorted(sorted, value, v.length, q, resamples, seed);
  }

  /**
   * The bootstrap of {@link #bootstrapQuantile} from its sorted (sub)sample: {@code value} is the
   * q-quantile of the whole sample of {@code n} values, {@code sorted} what is resampled.
   */
  static Estimate bootstrapSorted(
      float[] sorted, double value, int n, double q, int resamples, long seed) {
    // Sorted once: a resample's order statistics are then those of its drawn indices, found by
    // counting (linear) instead of sorting every resample.
    int m = sorted.length;
    double h = (m - 1) * q;
    int lo = (int) Math.floor(h);
    SplittableRandom r = new SplittableRandom(seed);
    double[] stats = new double[resamples];
    int[] counts = new int[m];
    for (int b = 0; b < resamples; b++) {
      Arrays.fill(counts, 0);
      for (int i = 0; i < m; i++) {
        counts[r.nextInt(m)]++;
      }
      int seen = 0;
      int atLo = -1;
      int atHi = -1;
      for (int i = 0; i < m && atHi < 0; i++) {
        seen += counts[i];
        if (atLo < 0 && seen > lo) {
          atLo = i;
        }
        if (seen > Math.min(lo + 1, m - 1)) {
          atHi = i;
        }
      }
      stats[b] = sorted[atLo] + (h - lo) * ((double) sorted[atHi] - sorted[atLo]);
    }
    Arrays.sort(stats);
    double low = stats[(int) Math.floor(0.025 * (resamples - 1))];
    double high = stats[(int) Math.ceil(0.975 * (resamples - 1))];
    return new Estimate(value, Math.min(low, value), Math.max(high, value), n);
  }

  /** Two-sided Fisher exact test on the 2×2 table [[a, b], [c, d]]. */
  public static double fisherExact(long a, long b, long c, long d) {
    int n = (int) (a + b + c + d);
    int row1 = (int) (a + b);
    int col1 = (int) (a + c);
    if (n == 0) {
      return 1.0;
    }
    HypergeometricDistribution h = new HypergeometricDistribution(null, n, col1, row1);
    double observed = h.probability((int) a);
    int lo = Math.max(0, row1 + col1 - n);
    int hi = Math.min(row1, col1);
    double p = 0;
    for (int k = lo; k <= hi; k++) {
      double pk = h.probability(k);
      if (pk <= observed * (1 + 1e-7)) {
        p += pk;
      }
    }
    return Math.min(1.0, p);
  }

  /**
   * One-sided Mann–Whitney U p-value for "x tends to be smaller than y" (NaN if either empty):
   * exact for small samples, ties included; normal approximation with continuity and tie
   * corrections beyond ({@link RankTests}).
   */
  public static double mannWhitneyLess(double[] x, double[] y) {
    return RankTests.mannWhitneyLess(x, y);
  }

  /** Pairs (x, y) with x smaller than y, ties counted half. */
  static double uStatistic(double[] x, double[] y) {
    double u = 0;
    double[] ys = y.clone();
    Arrays.sort(ys);
    for (double v : x) {
      int below = RankTests.lowerBound(ys, v);
      int upTo = RankTests.upperBound(ys, v);
      u += (ys.length - upTo) + 0.5 * (upTo - below);
    }
    return u;
  }

  /**
   * Two-sample Kolmogorov–Smirnov: the statistic D and P(D' ≥ D), exact with ties for samples up to
   * n·m = 25 million ({@link RankTests}); NaN if a sample is empty.
   */
  public static double[] kolmogorovSmirnov(double[] a, double[] b) {
    return RankTests.kolmogorovSmirnov(a, b);
  }
}
