package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.function.UnaryOperator;

/**
 * A decoder family's forward computation on DJL NDArrays, as the two batch kinds drive it: {@link
 * DjlBatch} (a padded batch with an additive mask and a KV cache) and {@link InvariantBatch}
 * (flattened rows, every product at a fixed row count, attention row by row).
 */
interface DecoderGraph extends AutoCloseable {
  DataType dtype();

  /**
   * The type masks, softmax and norms are computed in: float32 (fp16 neither overflows the mask nor
   * loses the sum), or float64 for a float64 graph, which computes everything in float64.
   */
  default DataType accumulation() {
    return dtype() == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
  }

  int layers();

  /** Query heads × head width: the attention output's width. */
  int attentionWidth();

  /** Query heads. */
  int heads();

  /** Key/value heads. */
  default int kvHeads() {
    return heads() / kvGroups();
  }

  /** One head's width. */
  default int headDim() {
    return attentionWidth() / heads();
  }

  /** Token embeddings (plus learned position embeddings where the family has them). */
  NDArray embed(NDArray ids, NDArray positions);

  /**
   * Runs every layer over x [B, T, C] at positions [B, T] whose keys may also see {@code
   * pastK/pastV} (per layer [B, KV, P, D], or null); {@code mask} is additive [B, 1, T, P + T] in
   * float32. {@code newK/newV} receive each layer's keys and values over all P + T positions.
   */
  NDArray blocks(
      NDArray x,
      NDArray positions,
      NDArray mask,
      NDArray[] pastK,
      NDArray[] pastV,
      NDArray[] newK,
      NDArray[] newV);

  /** The final normalisation before the LM head. */
  NDArray finalNorm(NDArray x);

  /** The LM head as a linear layer [C, V]. */
  Linear lmHead();

  /**
   * One layer of batch-invariant mode over x [N, C] (every new position of every live row,
   * flattened) at positions [N]: every linear layer through {@code lin} (fixed row groups), and
   * attention through {@code att}, which sees this layer's queries [1, H, N, D] (already scaled by
   * 1/√D), keys and values [1, KV, N, D] and returns [N, H·D].
   */
  NDArray invariantLayer(int layer, NDArray x, NDArray positions, Grouped lin, RowAttention att);

  /** A linear layer run in fixed row groups, {@code then} applied to each group's output. */
  interface Grouped {
    NDArray apply(Linear lin, NDArray x, UnaryOperator<NDArray> then);
  }

  /** Attention of batch-invariant mode, row by row over each row's own keys. */
  interface RowAttention {
    NDArray apply(int layer, NDArray q, NDArray k, NDArray v);
  }

  /** Query heads per key/value head (1 without grouped-query attention). */
  default int kvGroups() {
    return 1;
  }

  @Override
  void close();
}
