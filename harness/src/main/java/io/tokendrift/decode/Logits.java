package io.tokendrift.decode;

import java.util.Arrays;

/** Checks and orderings over a raw logit vector, shared by every stage of the pipeline. */
public final class Logits {
  private Logits() {}

  /**
   * Refuses a vector no pipeline stage can work with: empty, NaN or +inf anywhere, or every entry
   * -inf. {@code -inf} alone is allowed: it is how a masked token is written.
   *
   * @param step the decode step, named in the message
   */
  public static void check(float[] logits, int step) {
    if (logits.length == 0) {
      throw new IllegalArgumentException(
          "step "
              + step
              + ": the logit vector is empty; the vocabulary must have at least 1 token");
    }
    boolean anyFinite = false;
    for (int i = 0; i < logits.length; i++) {
      float v = logits[i];
      if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
        throw new IllegalArgumentException(
            "step "
                + step
                + ": logit at index "
                + i
                + " is "
                + v
                + "; logits must be finite numbers or -Infinity");
      }
      anyFinite |= v != Float.NEGATIVE_INFINITY;
    }
    if (!anyFinite) {
      throw new IllegalArgumentException(
          "step " + step + ": every logit is -Infinity; at least one token must be possible");
    }
  }

  /** Index of the largest value; the lowest index wins a tie, as {@code torch.argmax}. */
  /** The index of the largest value, the lowest on a tie (as {@code torch.argmax}). */
  public static int argmax(double[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  public static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * A sort key that orders tokens by value descending, then id ascending, as one {@code long}:
   * sorting keys ascending sorts tokens the way the pipeline ranks them. {@code -0.0} ranks as
   * {@code 0.0}.
   */
  public static long rankKey(float value, int id) {
    int bits = Float.floatToRawIntBits(value + 0.0f);
    // Flip the magnitude bits of negatives so signed int order equals float order, then invert
    // everything so larger values come first.
    int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF);
    return ((long) ~ordered << 32) | (id & 0xFFFFFFFFL);
  }

  /** The token id held in a {@link #rankKey}. */
  public static int idOf(long rankKey) {
    return (int) rankKey;
  }

  /**
   * The ids of the k largest logits, largest first (lowest id first on a tie, as {@link #argmax}):
   * one pass with a k-element heap, no sort of the vocabulary.
   */
  public static int[] topIds(float[] logits, int k) {
    long[] keys = topKeys(logits, k);
    int[] ids = new int[keys.length];
    for (int j = 0; j < keys.length; j++) {
      ids[j] = idOf(keys[j]);
    }
    return ids;
  }

  /**
   * The ids of the k largest of float64 logits, largest first, the lower id first on a tie (as
   * {@link #topIds(float[], int)}; an insertion into k places, as k is small).
   */
  public static int[] topIds(double[] v, int k) {
    int n = Math.min(k, v.length);
    int[] best = new int[n];
    int filled = 0;
    for (int i = 0; i < v.length; i++) {
      if (filled < n) {
        int j = filled++;
        while (j > 0 && v[best[j - 1]] < v[i]) {
          best[j] = best[j - 1];
          j--;
        }
        best[j] = i;
      } else if (v[i] > v[best[n - 1]]) {
        int j = n - 1;
        while (j > 0 && v[best[j - 1]] < v[i]) {
          best[j] = best[j - 1];
          j--;
        }
        best[j] = i;
      }
    }
    return best;
  }

  /** The k best rank keys (logit descending, id ascending), best first. */
  static long[] topKeys(float[] logits, int k) {
    int m = Math.min(k, logits.length);
    long[] heap = new long[m]; // the m smallest keys, as a max-heap on key
    int size = 0;
    for (int i = 0; i < logits.length; i++) {
      long key = rankKey(logits[i], i);
      if (size < m) {
        heap[size] = key;
        siftUp(heap, size++);
      } else if (key < heap[0]) {
        heap[0] = key;
        siftDown(heap, m);
      }
    }
    Arrays.sort(heap);
    return heap;
  }

  private static void siftUp(long[] h, int i) {
    while (i > 0) {
      int p = (i - 1) / 2;
      if (h[p] >= h[i]) {
        return;
      }
      long t = h[p];
      h[p] = h[i];
      h[i] = t;
      i = p;
    }
  }

  private static void siftDown(long[] h, int n) {
    int i = 0;
    while (true) {
      int l = 2 * i + 1;
      int r = l + 1;
      int big = i;
      if (l < n && h[l] > h[big]) {
        big = l;
      }
      if (r < n && h[r] > h[big]) {
        big = r;
      }
      if (big == i) {
        return;
      }
      long t = h[big];
      h[big] = h[i];
      h[i] = t;
      i = big;
    }
  }
}
