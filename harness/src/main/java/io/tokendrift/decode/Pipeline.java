package io.tokendrift.decode;

import java.util.Arrays;

/**
 * The seed's filtering pipeline as pure functions: temperature, then top-k, then top-p.
 *
 * <p>Exact semantics, shared with the full-sort implementation the tests compare against:
 *
 * <ol>
 *   <li>scaled[i] = logits[i] / (float) T, in float32 as PyTorch divides a float tensor;
 *   <li>top-k: survivors are the tokens whose scaled logit is not below the k-th largest (ties at
 *       the k-th value survive);
 *   <li>probabilities over survivors: exp(scaled - max) in double, normalised by their sum taken in
 *       ascending id order;
 *   <li>top-p: with survivors ranked by scaled logit descending, id ascending, the rank-j token is
 *       removed when the running sum of the probabilities of ranks 0..j-1 exceeds p; rank 0 always
 *       stays;
 *   <li>the kept tokens are renormalised the same way as step 3.
 * </ol>
 *
 * <p>No stage sorts the whole vocabulary: top-k uses a bounded heap, top-p sorts only a prefix of
 * the ranking found from a histogram of probability mass.
 */
public final class Pipeline {
  /**
   * Bins for the top-p bucket sort, each 1/64 nat wide below the maximum; the last bin takes
   * everything more than 64 nats down (probability ratio below 1e-27).
   */
  private static final int BINS = 4097;

  private static final double BIN_WIDTH = 1.0 / 64;

  /**
   * Slack on the histogram mass before a prefix is trusted to contain the nucleus: the bins sum in
   * a different order from the ranked running sum, and over 10^6 terms the two differ by less than
   * 1e-9.
   */
  private static final double PREFIX_SLACK = 1e-9;

  private Pipeline() {}

  /**
   * Runs temperature, top-k and top-p over {@code logits} (not modified). Not for greedy settings.
   */
  public static Kept filter(float[] logits, SamplingSettings s) {
    if (s.greedy()) {
      throw new IllegalArgumentException(
          "temperature 0 is greedy decoding: there is nothing to filter");
    }
    float[] scaled = scale(logits, s.temperature());
    int[] survivors = topK(scaled, s.topK());
    double[] weights = weights(scaled, survivors);
    double[] probs = normalise(weights);
    if (s.topP() >= 1) {
      return new Kept(survivors, probs, scaled);
    }
    int[] kept = topP(scaled, survivors, probs, s.topP());
    // Renormalise from the same exp weights (the maximum is always kept, so they are unchanged).
    double[] keptWeights = new double[kept.length];
    for (int i = 0, j = 0; i < kept.length; i++) {
      while (survivors[j] != kept[i]) {
        j++;
      }
      keptWeights[i] = weights[j];
    }
    return new Kept(kept, normalise(keptWeights), scaled);
  }

  /** A copy of {@code logits} divided by {@code temperature} in float32; T = 1 copies. */
  public static float[] scale(float[] logits, double temperature) {
    float t = (float) temperature;
    float[] out = new float[logits.length];
    for (int i = 0; i < logits.length; i++) {
      out[i] = logits[i] / t;
    }
    return out;
  }

  /**
   * Ids (ascending) whose value is not below the k-th largest; all ids when k is 0 or at least the
   * vocabulary size (the clamp).
   */
  public static int[] topK(float[] scaled, int k) {
    int n = scaled.length;
    if (k == 0 || k >= n) {
      return allIds(n);
    }
    float threshold = kthLargest(scaled, k);
    int count = 0;
    for (float v : scaled) {
      if (v >= threshold) {
        count++;
      }
    }
    int[] ids = new int[count];
    int j = 0;
    for (int i = 0; i < n; i++) {
      if (scaled[i] >= threshold) {
        ids[j++] = i;
      }
    }
    return ids;
  }

  /**
   * The k-th largest value counting repeats, as {@code torch.topk(v, k).values[-1]}; 1 <= k <= n.
   */
  static float kthLargest(float[] v, int k) {
    // A min-heap of the k largest seen so far: after the first k, almost every value is rejected by
    // one comparison with the root, so the pass costs about n comparisons.
    float[] heap = new float[k];
    System.arraycopy(v, 0, heap, 0, k);
    for (int i = k / 2 - 1; i >= 0; i--) {
      siftDown(heap, i, k);
    }
    for (int i = k; i < v.length; i++) {
      if (v[i] > heap[0]) {
        heap[0] = v[i];
        siftDown(heap, 0, k);
      }
    }
    return heap[0];
  }

  private static void siftDown(float[] heap, int i, int size) {
    float x = heap[i];
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        break;
      }
      if (child + 1 < size && heap[child + 1] < heap[child]) {
        child++;
      }
      if (heap[child] >= x) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = x;
  }

  /** Softmax of {@code scaled} restricted to {@code ids}, in double, normalised in id order. */
  public static double[] softmax(float[] scaled, int[] ids) {
    return normalise(weights(scaled, ids));
  }

  /** exp(scaled - max) over {@code ids}, in double: softmax before its denominator. */
  private static double[] weights(float[] scaled, int[] ids) {
    float max = Float.NEGATIVE_INFINITY;
    for (int id : ids) {
      max = Math.max(max, scaled[id]);
    }
    double[] w = new double[ids.length];
    for (int i = 0; i < ids.length; i++) {
      w[i] = Math.exp((double) scaled[ids[i]] - max);
    }
    return w;
  }

  /** {@code w} divided by its sum taken in index order (a new array). */
  private static double[] normalise(double[] w) {
    double z = 0;
    for (double x : w) {
      z += x;
    }
    double[] p = new double[w.length];
    for (int i = 0; i < w.length; i++) {
      p[i] = w[i] / z;
    }
    return p;
  }

  /**
   * Ids (ascending) that survive the nucleus cut at mass {@code p < 1}.
   *
   * <p>Tokens are binned by distance below the maximum (bins are already in rank order) and bins
   * walked from the top until their mass exceeds p: every bin before that crossing bin is kept
   * whole, every bin after it removed, and only the crossing bin's tokens are ranked. The draw
   * walks kept tokens in id order, so the kept set needs a threshold, not an order. When the
   * running sum comes within rounding of p, the exact rank-order sum (as a full sort takes it)
   * decides.
   *
   * @param ids candidate ids, ascending
   * @param probs their probabilities, aligned with {@code ids}
   */
  public static int[] topP(float[] scaled, int[] ids, double[] probs, double p) {
    int n = ids.length;
    float max = Float.NEGATIVE_INFINITY;
    for (int id : ids) {
      max = Math.max(max, scaled[id]);
    }
    double[] mass = new double[BINS];
    int[] start = new int[BINS + 1];
    int[] bin = new int[n];
    for (int i = 0; i < n; i++) {
      double below = (double) max - scaled[ids[i]];
      int b = below < (BINS - 1) * BIN_WIDTH ? (int) (below / BIN_WIDTH) : BINS - 1;
      bin[i] = b;
      mass[b] += probs[i];
      start[b + 1]++;
    }
    int last = BINS - 1;
    double acc = 0;
    for (int b = 0; b < BINS - 1; b++) {
      acc += mass[b];
      if (acc > p + PREFIX_SLACK) {
        last = b;
        break;
      }
    }
    if (last == BINS - 1 && acc <= p + PREFIX_SLACK) {
      // No bin's running mass surely passed p (p within rounding of 1): the exact sum decides.
      return topPExact(scaled, ids, probs, p, bin, last);
    }
    // Bins before the crossing bin are kept whole and bins after it removed whole: only the
    // crossing bin is ranked. The running sum up to it is taken bin by bin, which may differ from
    // the rank-order sum by rounding (< PREFIX_SLACK); a decision that close to p is taken again
    // with the exact rank-order sum.
    double before = 0;
    for (int b = 0; b < last; b++) {
      before += mass[b];
    }
    int inBin = start[last + 1];
    long[] keys = new long[inBin];
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (bin[i] == last) {
        keys[m++] = Logits.rankKey(scaled[ids[i]], i);
      }
    }
    Arrays.sort(keys, 0, m);
    int keepInBin = m;
    double cumulative = before;
    int rank0 = n - countAtOrAfter(bin, last); // ranks before the crossing bin
    for (int r = 0; r < m; r++) {
      if (Math.abs(cumulative - p) <= PREFIX_SLACK) {
        return topPExact(scaled, ids, probs, p, bin, last);
      }
      if (rank0 + r > 0 && cumulative > p) {
        keepInBin = r;
        break;
      }
      cumulative += probs[Logits.idOf(keys[r])];
    }
    boolean[] kept = new boolean[n];
    int count = 0;
    for (int i = 0; i < n; i++) {
      if (bin[i] < last) {
        kept[i] = true;
        count++;
      }
    }
    for (int r = 0; r < keepInBin; r++) {
      kept[Logits.idOf(keys[r])] = true;
      count++;
    }
    int[] out = new int[count];
    int at = 0;
    for (int i = 0; i < n; i++) {
      if (kept[i]) {
        out[at++] = ids[i]; // ids ascending: the kept set comes out ascending
      }
    }
    return out;
  }

  /** How many tokens sit in bin {@code b} or later. */
  private static int countAtOrAfter(int[] bin, int b) {
    int c = 0;
    for (int x : bin) {
      c += x >= b ? 1 : 0;
    }
    return c;
  }

  /** The nucleus by the exact rank-order running sum over bins 0..last (the rare close call). */
  private static int[] topPExact(
      float[] scaled, int[] ids, double[] probs, double p, int[] bin, int last) {
    int n = ids.length;
    int total = 0;
    for (int x : bin) {
      total += x <= last ? 1 : 0;
    }
    long[] keys = new long[total];
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (bin[i] <= last) {
        keys[m++] = Logits.rankKey(scaled[ids[i]], i);
      }
    }
    Arrays.sort(keys);
    double cumulative = 0;
    int keep = keys.length;
    for (int r = 0; r < keys.length; r++) {
      if (r > 0 && cumulative > p) {
        keep = r;
        break;
      }
      cumulative += probs[Logits.idOf(keys[r])];
    }
    int[] kept = new int[keep];
    for (int r = 0; r < keep; r++) {
      kept[r] = ids[Logits.idOf(keys[r])];
    }
    Arrays.sort(kept);
    return kept;
  }

  private static int[] allIds(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = i;
    }
    return ids;
  }
}
