package io.tokendrift.serve;

import io.tokendrift.decode.LogitStats;
import io.tokendrift.decode.Logits;

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
    double lse = LogitStats.of(logits).logSumExp();
    int[] ids = Logits.topIds(logits, k);
    double[] values = new double[ids.length];
    for (int i = 0; i < ids.length; i++) {
      values[i] = logits[ids[i]] - lse;
    }
    return new Logprobs(ids, values, lse, logits);
  }

  /** The logprob of {@code token}. */
  double of(int token) {
    return logits[token] - logSumExp;
  }
}
