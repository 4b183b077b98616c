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
    onStep(step, logits, null, c);
  }

  /**
   * Records a step; with {@code exact} (a float64 engine's logits), its top-K are ranked by the
   * float64 values and kept in float64 too, so a micro-tie's true order and margin survive.
   */
  @Override
  public void onStep(int step, float[] logits, double[] exact, Choice c) {
    int[] ids = exact != null ? Logits.topIds(exact, k) : Logits.topIds(logits, k);
    float[] values = new float[ids.length];
    for (int j = 0; j < ids.length; j++) {
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
    if (exact != null) {
      double[] v = new double[ids.length];
      for (int j = 0; j < ids.length; j++) {
        v[j] = exact[ids[j]];
      }
      steps.setExact(steps.size() - 1, v);
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
