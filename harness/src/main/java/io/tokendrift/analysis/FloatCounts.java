package io.tokendrift.analysis;

import java.util.Arrays;

/**
 * A multiset of floats held as its distinct values and their counts: the exact order statistics of
 * a sample in memory that grows with the number of distinct values, not of values (per-step drifts
 * are differences of nearby float32 logits, multiples of a few ulps: few distinct values). Values
 * arrive in chunks, sorted and merged in; order is {@link Float#compare}'s, which is {@link
 * Arrays#sort(float[])}'s.
 */
final class FloatCounts {
  private final float[] chunk = new float[1 << 18];
  private int fill;
  private float[] values = new float[0];
  private long[] counts = new long[0]; // after settle(): cumulative
  private boolean cumulative;
  private long n;

  /** Adds the values of {@code v}. */
  void add(float[] v) {
    if (cumulative) {
      throw new IllegalStateException("values added after the first order statistic");
    }
    for (float x : v) {
      if (fill == chunk.length) {
        merge();
      }
      chunk[fill++] = x;
    }
    n += v.length;
  }

  /** How many values were added. */
  long size() {
    return n;
  }

  /** How many distinct values were added. */
  int distinct() {
    settle();
    return values.length;
  }

  private void merge() {
    Arrays.sort(chunk, 0, fill);
    float[] v = new float[values.length + fill];
    long[] c = new long[values.length + fill];
    int i = 0;
    int j = 0;
    int k = -1;
    while (i < values.length || j < fill) {
      float x;
      long add;
      if (j >= fill || (i < values.length && Float.compare(values[i], chunk[j]) <= 0)) {
        x = values[i];
        add = counts[i++];
      } else {
        x = chunk[j++];
        add = 1;
      }
      if (k >= 0 && Float.compare(v[k], x) == 0) {
        c[k] += add;
      } else {
        v[++k] = x;
        c[k] = add;
      }
    }
    values = Arrays.copyOf(v, k + 1);
    counts = Arrays.copyOf(c, k + 1);
    fill = 0;
  }

  private void settle() {
    if (cumulative) {
      return;
    }
    merge();
    for (int i = 1; i < counts.length; i++) {
      counts[i] += counts[i - 1];
    }
    cumulative = true;
  }

  /** The k-th smallest value (from 0). */
  float at(long k) {
    settle();
    int i = Arrays.binarySearch(counts, k + 1);
    return values[i >= 0 ? i : -i - 1];
  }

  /** The q-quantile, as {@link Stats#quantile(float[], double)} gives it; NaN when empty. */
  double quantile(double q) {
    if (n == 0) {
      return Double.NaN;
    }
    double h = (n - 1) * q;
    long lo = (long) Math.floor(h);
    long hi = Math.min(lo + 1, n - 1);
    float a = at(lo);
    return a + (h - lo) * ((double) at(hi) - a);
  }

  /** Every value, sorted. */
  float[] sorted() {
    settle();
    float[] out = new float[Math.toIntExact(n)];
    int at = 0;
    long prev = 0;
    for (int i = 0; i < values.length; i++) {
      Arrays.fill(out, at, at + (int) (counts[i] - prev), values[i]);
      at += (int) (counts[i] - prev);
      prev = counts[i];
    }
    return out;
  }
}
