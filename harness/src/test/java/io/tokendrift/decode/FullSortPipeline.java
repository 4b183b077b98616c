package io.tokendrift.decode;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The seed's pipeline written the plain way, sorting the whole vocabulary as {@code torch.sort}
 * does: the reference the fast {@link Pipeline} must agree with, and the baseline of the benchmark.
 */
final class FullSortPipeline {
  private FullSortPipeline() {}

  static Kept filter(float[] logits, SamplingSettings s) {
    int n = logits.length;
    float t = (float) s.temperature();
    float[] scaled = new float[n];
    for (int i = 0; i < n; i++) {
      scaled[i] = logits[i] / t;
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Comparator<Integer> byValueDescThenId =
        (a, b) -> {
          int c = Float.compare(scaled[b] + 0.0f, scaled[a] + 0.0f);
          return c != 0 ? c : Integer.compare(a, b);
        };
    Arrays.sort(order, byValueDescThenId);
    return afterSort(scaled, order, s);
  }

  /**
   * The same, with the sort done on primitive keys: the fastest plain full sort, for benchmarks.
   */
  static Kept filterPrimitiveSort(float[] logits, SamplingSettings s) {
    int n = logits.length;
    float t = (float) s.temperature();
    float[] scaled = new float[n];
    long[] keys = new long[n];
    for (int i = 0; i < n; i++) {
      scaled[i] = logits[i] / t;
      keys[i] = Logits.rankKey(scaled[i], i);
    }
    Arrays.sort(keys);
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = Logits.idOf(keys[i]);
    }
    return afterSort(scaled, order, s);
  }

  private static Kept afterSort(float[] scaled, Integer[] order, SamplingSettings s) {
    int n = scaled.length;
    boolean[] alive = new boolean[n];
    Arrays.fill(alive, true);
    int k = s.topK();
    if (k > 0 && k < n) {
      float threshold = scaled[order[k - 1]];
      for (int i = 0; i < n; i++) {
        alive[i] = scaled[i] >= threshold;
      }
    }
    double[] probs = softmaxAlive(scaled, alive);
    if (s.topP() < 1) {
      double cumulative = 0;
      boolean removing = false;
      for (int r = 0; r < n; r++) {
        int id = order[r];
        if (!alive[id]) {
          continue;
        }
        if (removing) {
          alive[id] = false;
          continue;
        }
        cumulative += probs[id];
        if (cumulative > s.topP()) {
          removing = true;
        }
      }
      probs = softmaxAlive(scaled, alive);
    }
    int count = 0;
    for (boolean a : alive) {
      count += a ? 1 : 0;
    }
    int[] ids = new int[count];
    double[] kept = new double[count];
    int j = 0;
    for (int i = 0; i < n; i++) {
      if (alive[i]) {
        ids[j] = i;
        kept[j++] = probs[i];
      }
    }
    return new Kept(ids, kept, scaled);
  }

  private static double[] softmaxAlive(float[] scaled, boolean[] alive) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < scaled.length; i++) {
      if (alive[i]) {
        max = Math.max(max, scaled[i]);
      }
    }
    double[] p = new double[scaled.length];
    double z = 0;
    for (int i = 0; i < scaled.length; i++) {
      if (alive[i]) {
        p[i] = Math.exp((double) scaled[i] - max);
        z += p[i];
      }
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= z;
    }
    return p;
  }
}
