package io.tokendrift.engine.djl;

/** Float64 logits rounded to float32, for what reads float32 (recording, sampling). */
final class Logits64 {
  private Logits64() {}

  static float[] rounded(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }
}
