package io.tokendrift.engine;

import java.util.List;

/**
 * The state of one running batch (its KV cache). Rows keep their slot until the batch closes, so
 * the shape every row sees is the shape the experiment asked for, even after some rows have
 * stopped.
 */
public interface Batch extends AutoCloseable {
  /** Number of rows. */
  int rows();

  /**
   * The logits for the next token of {@code row}, as computed by the last prefill or step; a fresh
   * copy the caller may keep or modify.
   */
  float[] logits(int row);

  /**
   * The logits of {@code row} in float64: exact for an engine that computes in float64 (then {@link
   * #logits} holds them rounded to float32), else {@link #logits} widened.
   */
  default double[] logits64(int row) {
    float[] f = logits(row);
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  /** Whether {@link #logits64} holds more than {@link #logits}: the engine computes in float64. */
  default boolean exact() {
    return false;
  }

  /** Tokens held by {@code row} so far (its prompt plus appended tokens, without padding). */
  int length(int row);

  /**
   * Appends one token to every row and runs one forward step.
   *
   * @param tokens the token appended to each row
   * @param active false for rows that have stopped: their token is masked out of their attention
   *     and their logits are meaningless, but they stay in the batch
   */
  void step(int[] tokens, boolean[] active);

  /**
   * Adds rows to a running batch, prefilling only them, where the batch can (the rows already there
   * keep their caches); false when it cannot, and the caller starts a new batch instead. A batch
   * whose rows depend on each other (a padded one) cannot: adding rows would change theirs.
   */
  default boolean addRows(List<int[]> prompts) {
    return false;
  }

  /** Frees a stopped row's state (its cache); the row keeps its slot, stopped. */
  default void release(int row) {}

  @Override
  void close();
}
