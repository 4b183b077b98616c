package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.norm.LayerNorm;
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
  /**
   * Added to masked attention scores (in float32). Finite, so a padding query with nothing to
   * attend to gets a uniform (ignored) row instead of NaN; exp(-1e9 + s) is exactly 0 in float32,
   * so a masked key contributes exactly nothing to a real query.
   */
  private static final float MASKED = -1e9f;

  private final DjlGpt2Engine e;
  private final NDManager manager;
  private final int rows;
  private final int[] pad;
  private final int[] lengths;
  private int total; // padded length held in the cache
  private boolean[][] keyValid; // [row][absolute position]
  private NDArray[] kCache; // per layer [B, H, total, D]
  private NDArray[] vCache;
  private float[][] logits;

  DjlBatch(DjlGpt2Engine engine, List<int[]> prompts) {
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
  public float[] logits(int row) {
    return logits[row].clone();
  }

  @Override
  public int length(int row) {
    return lengths[row];
  }

  @Override
  public void step(int[] tokens, boolean[] active) {
    if (tokens.length != rows || active.length != rows) {
      throw new IllegalArgumentException(
          "step needs one token and one flag per row (" + rows + "), got " + tokens.length);
    }
    long[] ids = new long[rows];
    long[] pos = new long[rows];
    int ctx = e.config.contextLength();
    for (int b = 0; b < rows; b++) {
      if (active[b] && lengths[b] >= ctx) {
        throw new IllegalStateException(
            "row " + b + " is full: it holds " + lengths[b] + " tokens, the context window " + ctx);
      }
      if (tokens[b] < 0 || tokens[b] >= e.config.vocabSize()) {
        throw new IllegalArgumentException(
            "row "
                + b
                + ": token id "
                + tokens[b]
                + " is outside the vocabulary [0, "
                + e.config.vocabSize()
                + ")");
      }
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

  /** Runs T new positions per row through the model; keeps their K/V and the last logits. */
  private void forward(long[] idsFlat, long[] posFlat, int t) {
    e.applyThreads();
    int past = total;
    int s = past + t;
    int c = e.config.width();
    int h = e.config.heads();
    int d = e.config.headSize();
    int layers = e.config.layers();
    NDArray[] newK = new NDArray[layers];
    NDArray[] newV = new NDArray[layers];
    try (NDScope scope = new NDScope()) {
      NDArray ids = manager.create(idsFlat, new Shape(rows, t));
      NDArray pos = manager.create(posFlat, new Shape(rows, t));
      NDArray mask = manager.create(mask(past, t), new Shape(rows, 1, t, s));
      NDArray x = e.wte.get(ids).add(e.wpe.get(pos)); // [B, T, C]
      float scale = (float) Math.sqrt(d);
      for (int l = 0; l < layers; l++) {
        DjlGpt2Engine.Block blk = e.blocks.get(l);
        NDArray a = layerNorm(x, blk.ln1w(), blk.ln1b());
        NDList qkv = blk.attn().apply(a).split(3, 2); // 3 x [B, T, C]
        NDArray q = heads(qkv.get(0), t, h, d); // [B, H, T, D]
        NDArray k = heads(qkv.get(1), t, h, d);
        NDArray v = heads(qkv.get(2), t, h, d);
        if (past > 0) {
          k = kCache[l].concat(k, 2); // [B, H, S, D]
          v = vCache[l].concat(v, 2);
        }
        newK[l] = k;
        newV[l] = v;
        NDArray att = q.matMul(k.transpose(0, 1, 3, 2)).div(scale); // [B, H, T, S]
        // Mask and softmax in float32 so fp16 runs neither overflow the mask nor lose the sum.
        att = att.toType(DataType.FLOAT32, false).add(mask).softmax(-1).toType(e.dtype, false);
        NDArray y = att.matMul(v).transpose(0, 2, 1, 3).reshape(rows, t, c); // [B, T, C]
        x = x.add(blk.proj().apply(y));
        NDArray m = layerNorm(x, blk.ln2w(), blk.ln2b());
        x = x.add(blk.out().apply(gelu(blk.fc().apply(m))));
      }
      NDArray last = layerNorm(x.get(":, -1, :"), e.lnFw, e.lnFb); // [B, C]
      float[] flat = e.lmHead.apply(last).toType(DataType.FLOAT32, false).toFloatArray(); // [B, V]
      int vocab = e.config.vocabSize();
      logits = new float[rows][];
      for (int b = 0; b < rows; b++) {
        logits[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
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
          m[base + j] = j <= q && keyValid[b][j] ? 0f : MASKED;
        }
      }
    }
    return m;
  }

  private NDArray heads(NDArray x, int t, int h, int d) {
    return x.reshape(rows, t, h, d).transpose(0, 2, 1, 3);
  }

  private NDArray layerNorm(NDArray x, NDArray w, NDArray b) {
    return LayerNorm.layerNorm(
            x, new Shape(e.config.width()), w, b, (float) e.config.layerNormEpsilon())
        .singletonOrThrow();
  }

  /** GPT-2's tanh GELU (gelu_new); DJL's Activation.gelu is the erf form, used only when asked. */
  private NDArray gelu(NDArray x) {
    if (!e.config.tanhGelu()) {
      return Activation.gelu(x);
    }
    float k = (float) Math.sqrt(2 / Math.PI);
    return x.pow(3).mul(0.044715f).add(x).mul(k).tanh().add(1f).mul(x).mul(0.5f);
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
