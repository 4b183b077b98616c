package io.tokendrift.experiment;

import io.tokendrift.decode.Choice;
import io.tokendrift.decode.LogitStats;
import io.tokendrift.decode.Logits;
import io.tokendrift.decode.StepObserver;
import io.tokendrift.trace.Steps;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/** Records every step of one run into {@link Steps}: top-K, statistics, draw and digest. */
final class StepRecorder implements StepObserver {
  private final Steps steps;
  private final int k;
  private final MessageDigest sha;
  private ByteBuffer bytes = ByteBuffer.allocate(0);

  StepRecorder(int k, boolean full) {
    this.k = k;
    this.steps = new Steps(k, full);
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  Steps steps() {
    return steps;
  }

  @Override
  public void onStep(int step, float[] logits, Choice c) {
    long[] keys = topKeys(logits, k);
    int[] ids = new int[keys.length];
    float[] values = new float[keys.length];
    for (int j = 0; j < keys.length; j++) {
      ids[j] = Logits.idOf(keys[j]);
      values[j] = logits[ids[j]];
    }
    LogitStats s = LogitStats.of(logits);
    steps.add(
        logits[c.token()],
        ids,
        values,
        (float) s.logSumExp(),
        (float) s.entropy(),
        c.sampled() ? c.draw() : Double.NaN,
        c.sampled() ? (float) c.drawMargin() : Float.NaN,
        digest(logits),
        steps.hasFullLogits() ? logits : null);
  }

  /** The k best rank keys (logit descending, id ascending), best first. */
  static long[] topKeys(float[] logits, int k) {
    int m = Math.min(k, logits.length);
    long[] heap = new long[m]; // the m smallest keys, as a max-heap on key
    int size = 0;
    for (int i = 0; i < logits.length; i++) {
      long key = Logits.rankKey(logits[i], i);
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

  /** First 8 bytes (big-endian) of SHA-256 over the float32 little-endian bits. */
  long digest(float[] logits) {
    if (bytes.capacity() != 4 * logits.length) {
      bytes = ByteBuffer.allocate(4 * logits.length).order(ByteOrder.LITTLE_ENDIAN);
    }
    bytes.clear();
    for (float v : logits) {
      bytes.putFloat(v);
    }
    byte[] d = sha.digest(bytes.array());
    return ByteBuffer.wrap(d, 0, 8).getLong();
  }
}
