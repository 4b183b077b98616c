package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tokendrift.engine.Batch;
import java.util.Arrays;
import java.util.List;

/**
 * One batch on the DJL engine: left-padded rows, an additive attention mask over padding and the
 * future, position ids that skip the padding, and a KV cache grown by one position per step. Every
 * forward pass runs inside an {@link NDScope}; only the new cache survives it, and the replaced
 * cache is closed.
 */
final class DjlBatch implements Batch {
  private final DjlEngine e;
  private final NDManager manager;
  private final int rows;
  private final int[] pad;
  private final int[] lengths;
  private int total; // padded length held in the cache
  private boolean[][] keyValid; // [row][absolute position]
  private NDArray[] kCache; // per layer [B, H, total, D]
  private NDArray[] vCache;
  private float[][] logits;
  private double[][] exact; // the float64 logits of a float64 graph, else null

  DjlBatch(DjlEngine engine, List<int[]> prompts) {
    this.e = engine;
    this.manager = engine.manager.newSubManager();
    this.rows = prompts.size();
    this.pad = new int[rows];
    this.lengths = new int[rows];
    int longest = 0;
    for (int[] p : prompts) {
      longest = Math.max(longest, p.length);
    }
    keyValid = new boolean[rows][Math.max(16, longest * 2)];
    long[] ids = new long[rows * longest];
    long[] pos = new long[rows * longest];
    for (int b = 0; b < rows; b++) {
      int[] p = prompts.get(b);
      pad[b] = longest - p.length;
      lengths[b] = p.length;
      for (int t = 0; t < longest; t++) {
        boolean real = t >= pad[b];
        // Padding slots hold token 0 at position 0; the mask keeps them out of every real query.
        ids[b * longest + t] = real ? p[t - pad[b]] : 0;
        pos[b * longest + t] = real ? t - pad[b] : 0;
        keyValid[b][t] = real;
      }
    }
    try {
      forward(ids, pos, longest);
    } catch (RuntimeException ex) {
      manager.close();
      throw ex;
    }
  }

  @Override
  public int rows() {
    return rows;
  }

  @Override
  public boolean exact() {
    return exact != null;
  }

  @Override
  public double[] logits64(int row) {
    return exact != null ? exact[row].clone() : Batch.super.logits64(row);
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
    // A stopped row still feeds its token (masked) through the padded batch: every token checked.
    checkStep(e.config, lengths, tokens, active, true);
    long[] ids = new long[rows];
    long[] pos = new long[rows];
    int ctx = e.config.contextLength();
    for (int b = 0; b < rows; b++) {
      ids[b] = tokens[b];
      pos[b] = Math.min(lengths[b], ctx - 1);
    }
    if (total + 1 > keyValid[0].length) {
      for (int b = 0; b < rows; b++) {
        keyValid[b] = Arrays.copyOf(keyValid[b], keyValid[b].length * 2);
      }
    }
    for (int b = 0; b < rows; b++) {
      keyValid[b][total] = active[b];
      if (active[b]) {
        lengths[b]++;
      }
    }
    forward(ids, pos, 1);
  }

  /**
   * Refuses a step the batch cannot take: one token and flag per row, an active row with room in
   * the context, every token that is fed (all rows', or the active rows') in the vocabulary.
   */
  static void checkStep(
      io.tokendrift.model.ModelConfig config,
      int[] lengths,
      int[] tokens,
      boolean[] active,
      boolean everyRowFed) {
    int rows = lengths.length;
    if (tokens.length != rows || active.length != rows) {
      throw new IllegalArgumentException(
          "step needs one token and one flag per row (" + rows + "), got " + tokens.length);
    }
    int ctx = config.contextLength();
    for (int b = 0; b < rows; b++) {
      if (active[b] && lengths[b] >= ctx) {
        throw new IllegalStateException(
            "row " + b + " is full: it holds " + lengths[b] + " tokens, the context window " + ctx);
      }
      if ((everyRowFed || active[b]) && (tokens[b] < 0 || tokens[b] >= config.vocabSize())) {
        throw new IllegalArgumentException(
            "row "
                + b
                + ": token id "
                + tokens[b]
                + " is outside the vocabulary [0, "
                + config.vocabSize()
                + ")");
      }
    }
  }

  /** Runs T new positions per row through the model; keeps their K/V and the last logits. */
  private void forward(long[] idsFlat, long[] posFlat, int t) {
    e.applyThreads();
    int past = total;
    int s = past + t;
    int layers = e.graph.layers();
    NDArray[] newK = new NDArray[layers];
    NDArray[] newV = new NDArray[layers];
    try (NDScope scope = new NDScope()) {
      NDArray ids = manager.create(idsFlat, new Shape(rows, t));
      NDArray pos = manager.create(posFlat, new Shape(rows, t));
      NDArray mask = manager.create(mask(past, t), new Shape(rows, 1, t, s));
      NDArray x = e.graph.embed(ids, pos); // [B, T, C]
      x = e.graph.blocks(x, pos, mask, past > 0 ? kCache : null, vCache, newK, newV);
      NDArray last = e.graph.finalNorm(x.get(":, -1, :")); // [B, C]
      NDArray out = e.lmHead.apply(last); // [B, V]
      int vocab = e.config.vocabSize();
      logits = new float[rows][];
      if (out.getDataType() == DataType.FLOAT64) {
        double[] flat = out.toDoubleArray();
        exact = new double[rows][];
        for (int b = 0; b < rows; b++) {
          exact[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
          logits[b] = Logits64.rounded(exact[b]);
        }
      } else {
        float[] flat = out.toType(DataType.FLOAT32, false).toFloatArray();
        for (int b = 0; b < rows; b++) {
          logits[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
        }
      }
      for (int l = 0; l < layers; l++) {
        NDScope.unregister(newK[l], newV[l]);
        newK[l].attach(manager);
        newV[l].attach(manager);
      }
    }
    if (kCache != null) {
      for (int l = 0; l < layers; l++) {
        kCache[l].close();
        vCache[l].close();
      }
    }
    kCache = newK;
    vCache = newV;
    total = s;
  }

  /** Additive mask [B, 1, T, S]: 0 where query i may see key j (causal and not padding). */
  private float[] mask(int past, int t) {
    int s = past + t;
    float[] m = new float[rows * t * s];
    for (int b = 0; b < rows; b++) {
      for (int i = 0; i < t; i++) {
        int q = past + i;
        int base = (b * t + i) * s;
        for (int j = 0; j < s; j++) {
          m[base + j] = j <= q && keyValid[b][j] ? 0f : Gpt2Graph.MASKED;
        }
      }
    }
    return m;
  }

  /** NDArrays alive in this batch's manager: the KV cache only, between steps. */
  int liveArrays() {
    return manager instanceof ai.djl.ndarray.BaseNDManager m ? m.getManagedArrays().size() : -1;
  }

  @Override
  public void close() {
    manager.close();
  }
}
