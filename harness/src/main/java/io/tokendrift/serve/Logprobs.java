package io.tokendrift.serve;

import java.util.Arrays;

/**
 * Log-probabilities of the raw logits (log-softmax before temperature and filtering, as vLLM
 * returns by default), in double precision: the numbers a client compares across requests.
 *
 * @param ids the top tokens, largest logit first (lowest id first on a tie)
 * @param values their logprobs
 * @param logSumExp the normaliser
 * @param logits the logits the values came from
 */
record Logprobs(int[] ids, double[] values, double logSumExp, float[] logits) {

  static Logprobs of(float[] logits, int k) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : logits) {
      max = Math.max(max, v);
    }
    double z = 0;
    for (float v : logits) {
      z += Math.exp(v - max);
    }
    double lse = max + Math.log(z);
    int n = Math.min(k, logits.length);
    Integer[] order = new Integer[logits.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(
        order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : a - b);
    int[] ids = new int[n];
    double[] values = new double[n];
    for (int i = 0; i < n; i++) {
      ids[i] = order[i];
      values[i] = logits[order[i]] - lse;
    }
    return new Logprobs(ids, values, lse, logits);
  }

  /** The logprob of {@code token}. */
  double of(int token) {
    return logits[token] - logSumExp;
  }
}
