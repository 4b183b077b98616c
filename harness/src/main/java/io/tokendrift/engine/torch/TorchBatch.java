package io.tokendrift.engine.torch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.engine.Batch;
import java.util.List;

/** One batch held by the worker (its KV cache lives there); logits come back whole. */
final class TorchBatch implements Batch {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final TorchEngine engine;
  private final Worker worker;
  private final int id;
  private final int[] lengths;
  private float[][] logits;

  TorchBatch(TorchEngine engine, Worker worker, int id, List<int[]> prompts, float[][] logits) {
    this.engine = engine;
    this.worker = worker;
    this.id = id;
    this.lengths = new int[prompts.size()];
    for (int i = 0; i < lengths.length; i++) {
      lengths[i] = prompts.get(i).length;
    }
    this.logits = logits;
  }

  @Override
  public int rows() {
    return lengths.length;
  }

  @Override
  public float[] logits(int row) {
    return logits[row].clone();
  }

  @Override
  public int length(int row) {
    return lengths[row];
  }

  @Override
  public void step(int[] tokens, boolean[] active) {
    if (tokens.length != lengths.length || active.length != lengths.length) {
      throw new IllegalArgumentException(
          "step needs one token and one flag per row (" + lengths.length + ")");
    }
    ObjectNode h = JSON.createObjectNode();
    h.put("op", "step");
    h.put("batch", id);
    ArrayNode t = h.putArray("tokens");
    ArrayNode a = h.putArray("active");
    for (int i = 0; i < tokens.length; i++) {
      t.add(tokens[i]);
      a.add(active[i]);
      if (active[i]) {
        lengths[i]++;
      }
    }
    logits = engine.call(worker, h);
  }

  @Override
  public void close() {
    if (worker.alive()) {
      try {
        worker.call(JSON.createObjectNode().put("op", "close").put("batch", id), null, 30);
      } catch (RuntimeException ignored) {
        // the worker is replaced before the next batch anyway
      }
    }
  }
}
