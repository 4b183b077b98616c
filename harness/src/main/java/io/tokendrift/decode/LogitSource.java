package io.tokendrift.decode;

/**
 * One row of a model as the decode loop sees it: the logits after the prompt, then after each
 * chosen token. Engines adapt to this; the decode package knows nothing else of them.
 */
public interface LogitSource {
  /** Logits for the position after {@code prompt}. */
  float[] prefill(int[] prompt);

  /** Logits for the position after {@code token}, appended to everything so far. */
  float[] next(int token);
}
