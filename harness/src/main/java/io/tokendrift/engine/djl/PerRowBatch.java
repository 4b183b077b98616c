package io.tokendrift.engine.djl;

import io.tokendrift.engine.Batch;
import java.util.ArrayList;
import java.util.List;

/**
 * Batch-invariant mode: every row runs as its own batch of one, with its own unpadded KV cache, so
 * its kernels see the same shapes whatever else is in the batch. The price is B forward passes per
 * step instead of one.
 */
final class PerRowBatch implements Batch {
  private final List<DjlBatch> rows = new ArrayList<>();

  PerRowBatch(DjlGpt2Engine engine, List<int[]> prompts) {
    try {
      for (int[] p : prompts) {
        rows.add(new DjlBatch(engine, List.of(p)));
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  @Override
  public int rows() {
    return rows.size();
  }

  @Override
  public float[] logits(int row) {
    return rows.get(row).logits(0);
  }

  @Override
  public int length(int row) {
    return rows.get(row).length(0);
  }

  @Override
  public void step(int[] tokens, boolean[] active) {
    for (int b = 0; b < rows.size(); b++) {
      // A stopped row costs nothing here: it has no neighbours whose shapes it must keep.
      if (active[b]) {
        rows.get(b).step(new int[] {tokens[b]}, new boolean[] {true});
      }
    }
  }

  @Override
  public void close() {
    for (DjlBatch b : rows) {
      b.close();
    }
  }
}
