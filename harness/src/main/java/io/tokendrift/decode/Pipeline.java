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

  private static final double BINS_PER_NAT = 64;

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
    int n = scaled.length;
    // Without top-k every token is a candidate: no id list, candidate i is token i.
    int[] survivors = s.topK() == 0 || s.topK() >= n ? null : topK(scaled, s.topK());
    Weights w = Weights.of(scaled, survivors, s.topP() < 1);
    if (s.topP() >= 1) {
      return new Kept(survivors == null ? allIds(n) : survivors, w.probs(), scaled);
    }
    Cut cut = nucleus(w, s.topP());
    // Renormalise from the same exp weights (the maximum is always kept, so they are unchanged),
    // summed in ascending id order as step 3 sums them. Gathered branch-free: every candidate up
    // to the last kept one is written, and the cursor moves past the kept ones only.
    int lastKept = w.n - 1;
    while (w.bin[lastKept] >= cut.wholeBins) {
      lastKept--;
    }
    int[] ids = new int[cut.count];
    double[] probs = new double[cut.count];
    int at = 0;
    for (int i = 0; i <= lastKept; i++) {
      ids[at] = survivors == null ? i : survivors[i];
      probs[at] = w.w[i];
      at += w.bin[i] < cut.wholeBins ? 1 : 0;
    }
    double z = 0;
    for (double x : probs) {
      z += x;
    }
    for (int i = 0; i < probs.length; i++) {
      probs[i] /= z;
    }
    return new Kept(ids, probs, scaled);
  }

  /** A copy of {@code logits} divided by {@code temperature} in float32; T = 1 copies. */
  public static float[] scale(float[] logits, double temperature) {
    float t = (float) temperature;
    if (t == 1f) {
      return logits.clone(); // x / 1f == x for every float
    }
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
    return Weights.of(scaled, ids, false).probs();
  }

  /**
   * The candidates' exp weights, exp(scaled - max) in double, with their sum z taken in ascending
   * id order: candidate i's probability is exactly {@code w[i] / z}, as step 3 defines it. With
   * {@code binned}, each candidate is also filed in its top-p bin and the bins' weights and counts
   * taken, so that the nucleus needs no probability array and no sort of the vocabulary.
   *
   * <p>The per-candidate arrays are this thread's scratch buffers, reused across calls (at V =
   * 50,257 they are 0.7 MB that would otherwise be allocated and zeroed at every sampled step);
   * they are valid until the thread's next call.
   */
  private static final class Weights {
    final int n;
    final float[] cand; // candidate i's scaled value
    final double[] w;
    final double z;
    final short[] bin;
    final double[] binWeight;
    final int[] binCount;

    private Weights(
        int n,
        float[] cand,
        double[] w,
        double z,
        short[] bin,
        double[] binWeight,
        int[] binCount) {
      this.n = n;
      this.cand = cand;
      this.w = w;
      this.z = z;
      this.bin = bin;
      this.binWeight = binWeight;
      this.binCount = binCount;
    }

    static Weights of(float[] scaled, int[] ids, boolean binned) {
      Scratch sc = SCRATCH.get();
      int n = ids == null ? scaled.length : ids.length;
      sc.ensure(n);
      // The candidates' values in one plain array (the scaled logits themselves when every token
      // is a candidate), so that every pass below is a straight loop over it.
      float[] cand = scaled;
      if (ids != null) {
        cand = sc.cand;
        for (int i = 0; i < n; i++) {
          cand[i] = scaled[ids[i]];
        }
      }
      float max = Float.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        max = cand[i] > max ? cand[i] : max; // no NaN here: the logits were checked
      }
      double[] w = sc.w;
      double z = 0;
      for (int i = 0; i < n; i++) {
        double x = Math.exp((double) cand[i] - max);
        w[i] = x;
        z += x;
      }
      if (!binned) {
        return new Weights(n, cand, w, z, null, null, null);
      }
      // Filing and weighing are two loops on purpose: fused with the bin's load and store, the
      // filing loop ran five times slower (measured: 446 vs 87 us at V = 50,257).
      short[] bin = sc.bin;
      for (int i = 0; i < n; i++) {
        // max - v in nats; * 64 is exact (a power of two), as dividing by 1/64 was.
        double below = (double) max - cand[i];
        bin[i] = (short) (below < (BINS - 1) * BIN_WIDTH ? (int) (below * BINS_PER_NAT) : BINS - 1);
      }
      double[] binWeight = new double[BINS];
      int[] binCount = new int[BINS];
      for (int i = 0; i < n; i++) {
        binWeight[bin[i]] += w[i];
        binCount[bin[i]]++;
      }
      return new Weights(n, cand, w, z, bin, binWeight, binCount);
    }

    /** Candidate i's probability, bit for bit what normalising the whole array gives. */
    double prob(int i) {
      return w[i] / z;
    }

    /** Candidate i's rank key: larger values first, ties by ascending candidate index. */
    long key(int i) {
      return Logits.rankKey(cand[i], i);
    }

    double[] probs() {
      double[] p = new double[n];
      for (int i = 0; i < n; i++) {
        p[i] = w[i] / z;
      }
      return p;
    }
  }

  /** One thread's reusable per-candidate buffers. */
  private static final class Scratch {
    float[] cand = new float[0];
    double[] w = new double[0];
    short[] bin = new short[0];

    void ensure(int n) {
      if (w.length < n) {
        cand = new float[n];
        w = new double[n];
        bin = new short[n];
      }
    }
  }

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  /**
   * A nucleus: candidate i is kept when {@code bin[i] < wholeBins}. The bins before the crossing
   * bin are kept whole; the kept tokens of the crossing bin (or, after an exact decision, every
   * kept token) have their bin set to -1 in the scratch array.
   *
   * @param count how many are kept
   */
  private record Cut(int wholeBins, int count) {}

  /**
   * The nucleus cut at mass {@code p < 1}: which candidates are kept.
   *
   * <p>Candidates are binned by distance below the maximum (bins are already in rank order) and
   * bins walked from the top until their mass exceeds p: every bin before that crossing bin is kept
   * whole, every bin after it removed, and only the crossing bin's tokens are ranked. The draw
   * walks kept tokens in id order, so the kept set needs a threshold, not an order. When the
   * running sum comes within rounding of p, the exact rank-order sum (as a full sort takes it)
   * decides.
   */
  private static Cut nucleus(Weights w, double p) {
    // A bin's mass: its weights (summed in id order) over z. It differs from the sum of its
    // probabilities by rounding only, far inside PREFIX_SLACK.
    int last = BINS - 1;
    double acc = 0;
    for (int b = 0; b < BINS - 1; b++) {
      acc += w.binWeight[b] / w.z;
      if (acc > p + PREFIX_SLACK) {
        last = b;
        break;
      }
    }
    if (last == BINS - 1 && acc <= p + PREFIX_SLACK) {
      // No bin's running mass surely passed p (p within rounding of 1): the exact sum decides.
      return nucleusExact(w, p, last);
    }
    // Bins before the crossing bin are kept whole and bins after it removed whole: only the
    // crossing bin is ranked. The running sum up to it is taken bin by bin, which may differ from
    // the rank-order sum by rounding (< PREFIX_SLACK); a decision that close to p is taken again
    // with the exact rank-order sum.
    double before = 0;
    int rank0 = 0; // ranks before the crossing bin
    for (int b = 0; b < last; b++) {
      before += w.binWeight[b] / w.z;
      rank0 += w.binCount[b];
    }
    long[] keys = new long[w.binCount[last]];
    int m = 0;
    for (int i = 0; i < w.n; i++) {
      if (w.bin[i] == last) {
        keys[m++] = w.key(i);
      }
    }
    Arrays.sort(keys);
    int keepInBin = m;
    double cumulative = before;
    for (int r = 0; r < m; r++) {
      if (Math.abs(cumulative - p) <= PREFIX_SLACK) {
        return nucleusExact(w, p, last);
      }
      if (rank0 + r > 0 && cumulative > p) {
        keepInBin = r;
        break;
      }
      cumulative += w.prob(Logits.idOf(keys[r]));
    }
    for (int r = 0; r < keepInBin; r++) {
      w.bin[Logits.idOf(keys[r])] = -1;
    }
    return new Cut(last, rank0 + keepInBin);
  }

  /** The nucleus by the exact rank-order running sum over bins 0..last (the rare close call). */
  private static Cut nucleusExact(Weights w, double p, int last) {
    int total = 0;
    for (int i = 0; i < w.n; i++) {
      total += w.bin[i] <= last ? 1 : 0;
    }
    long[] keys = new long[total];
    int m = 0;
    for (int i = 0; i < w.n; i++) {
      if (w.bin[i] <= last) {
        keys[m++] = w.key(i);
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
      cumulative += w.prob(Logits.idOf(keys[r]));
    }
    for (int r = 0; r < keep; r++) {
      w.bin[Logits.idOf(keys[r])] = -1;
    }
    return new Cut(0, keep);
  }

  private static int[] allIds(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = i;
    }
    return ids;
  }
}
