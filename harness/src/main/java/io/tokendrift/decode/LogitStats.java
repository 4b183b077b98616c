package io.tokendrift.decode;

/**
 * What one step's raw logits say about how close the choice was.
 *
 * @param top1 id of the largest logit (lowest id on a tie)
 * @param top1Logit its logit
 * @param top2 id of the runner-up, -1 for a vocabulary of one
 * @param top2Logit its logit (-Infinity when absent)
 * @param logSumExp log of the softmax denominator of the raw logits
 * @param entropy entropy of softmax(raw logits), in nats
 */
public record LogitStats(
    int top1, float top1Logit, int top2, float top2Logit, double logSumExp, double entropy) {

  /**
   * top1 minus top2 logit: the raw-logit margin a perturbation must cross to flip greedy decoding.
   */
  public double margin() {
    return top2 < 0 ? Double.POSITIVE_INFINITY : (double) top1Logit - top2Logit;
  }

  /** Probability of {@code logit} under softmax of the raw logits. */
  public double probability(float logit) {
    return Math.exp(logit - logSumExp);
  }

  /** Computes the statistics in two passes over {@code logits} (checked values). */
  public static LogitStats of(float[] logits) {
    int a = -1;
    int b = -1;
    for (int i = 0; i < logits.length; i++) {
      float v = logits[i];
      if (a < 0 || v > logits[a]) {
        b = a;
        a = i;
      } else if (b < 0 || v > logits[b]) {
        b = i;
      }
    }
    double max = logits[a];
    double z = 0;
    double weighted = 0;
    for (float v : logits) {
      double w = Math.exp(v - max);
      z += w;
      if (w > 0) {
        weighted += w * (v - max);
      }
    }
    double lse = max + Math.log(z);
    // H = log Z - E[x - max] with Z taken relative to the max, so no term overflows.
    double entropy = Math.log(z) - weighted / z;
    return new LogitStats(
        a, logits[a], b, b < 0 ? Float.NEGATIVE_INFINITY : logits[b], lse, Math.max(0, entropy));
  }
}
