package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.norm.LayerNorm;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-2's forward computation on DJL NDArrays, shared by inference ({@link DjlBatch}, with a KV
 * cache) and training ({@link #trainable}, whole sequences with gradients): pre-norm blocks, tanh
 * GELU, causal attention with an additive mask applied in float32, tied LM head.
 */
public final class Gpt2Graph implements DecoderGraph {
  /**
   * Added to masked attention scores (in float32). Finite, so a padding query with nothing to
   * attend to gets a uniform (ignored) row instead of NaN; exp(-1e9 + s) is exactly 0 in float32,
   * so a masked key contributes exactly nothing to a real query.
   */
  static final float MASKED = -1e9f;

  final Gpt2Config config;
  final DataType dtype;
  final NDManager manager;
  final NDArray wte; // [V, C]
  final NDArray wpe; // [P, C]
  final List<Block> blocks = new ArrayList<>();
  final NDArray lnFw;
  final NDArray lnFb;
  private final Map<String, NDArray> parameters = new LinkedHashMap<>();

  /** The weights of one transformer block. */
  record Block(
      NDArray ln1w,
      NDArray ln1b,
      Linear attn,
      Linear proj,
      NDArray ln2w,
      NDArray ln2b,
      Linear fc,
      Linear out) {}

  private Gpt2Graph(
      Gpt2Weights weights,
      NDManager manager,
      DataType dtype,
      SummationOrder order,
      boolean gradients) {
    this.config = weights.config();
    this.manager = manager;
    this.dtype = dtype;
    wte = load(weights, "wte.weight", gradients);
    wpe = load(weights, "wpe.weight", gradients);
    for (int i = 0; i < config.layers(); i++) {
      String h = "h." + i + ".";
      blocks.add(
          new Block(
              load(weights, h + "ln_1.weight", gradients),
              load(weights, h + "ln_1.bias", gradients),
              linear(weights, h + "attn.c_attn", order, gradients),
              linear(weights, h + "attn.c_proj", order, gradients),
              load(weights, h + "ln_2.weight", gradients),
              load(weights, h + "ln_2.bias", gradients),
              linear(weights, h + "mlp.c_fc", order, gradients),
              linear(weights, h + "mlp.c_proj", order, gradients)));
    }
    lnFw = load(weights, "ln_f.weight", gradients);
    lnFb = load(weights, "ln_f.bias", gradients);
  }

  /** Inference weights in {@code dtype} with the contraction order of {@code order}. */
  static Gpt2Graph forInference(
      Gpt2Weights weights, NDManager manager, DataType dtype, SummationOrder order) {
    return new Gpt2Graph(weights, manager, dtype, order, false);
  }

  /**
   * Float32 weights that collect gradients, in a manager of their own (closed with the graph), for
   * training through the same forward code inference uses.
   */
  public static Gpt2Graph trainable(Gpt2Weights weights, NDManager parent) {
    if (!weights.config().tiedHead()) {
      throw new IllegalArgumentException(
          "training runs the tied LM head only; untie after training");
    }
    NDManager m = parent.newSubManager();
    try {
      return new Gpt2Graph(weights, m, DataType.FLOAT32, SummationOrder.NATIVE, true);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /** The untied LM head [V, C] in this graph's precision (inference only). */
  NDArray untiedHead(Gpt2Weights w) {
    return array(w.lmHead());
  }

  private NDArray array(Tensor t) {
    NDArray a = manager.create(t.data(), new Shape(t.shape()));
    return dtype != DataType.FLOAT32 ? a.toType(dtype, false) : a;
  }

  private NDArray load(Gpt2Weights w, String name, boolean gradients) {
    Tensor t = w.get(name);
    NDArray a = manager.create(t.data(), new Shape(t.shape()));
    if (dtype != DataType.FLOAT32) {
      a = a.toType(dtype, false);
    }
    if (gradients) {
      a.setRequiresGradient(true);
    }
    parameters.put(name, a);
    return a;
  }

  private Linear linear(Gpt2Weights w, String name, SummationOrder order, boolean gradients) {
    return new Linear(
        load(w, name + ".weight", gradients), load(w, name + ".bias", gradients), order);
  }

  public Gpt2Config config() {
    return config;
  }

  /** The parameters by their Hugging Face names (without the {@code transformer.} prefix). */
  public Map<String, NDArray> parameters() {
    return Collections.unmodifiableMap(parameters);
  }

  private Linear lmHead;

  /** Sets the LM head (the engine builds it: tied or not, transposed once). */
  void lmHead(Linear head) {
    this.lmHead = head;
  }

  @Override
  public Linear lmHead() {
    return lmHead;
  }

  @Override
  public DataType dtype() {
    return dtype;
  }

  @Override
  public int layers() {
    return config.layers();
  }

  @Override
  public int attentionWidth() {
    return config.width();
  }

  @Override
  public int heads() {
    return config.heads();
  }

  @Override
  public NDArray blocks(
      NDArray x,
      NDArray positions,
      NDArray mask,
      NDArray[] pastK,
      NDArray[] pastV,
      NDArray[] newK,
      NDArray[] newV) {
    // GPT-2's positions entered with the embeddings.
    return blocks(x, mask, pastK, pastV, newK, newV);
  }

  @Override
  public NDArray invariantLayer(
      int l, NDArray x, NDArray positions, Grouped lin, RowAttention att) {
    long n = x.getShape().get(0);
    int h = config.heads();
    int d = config.headSize();
    // sqrt(head size) as a float32 scalar, or in float64 for a float64 graph.
    Number scale =
        dtype == DataType.FLOAT64 ? (Number) Math.sqrt(d) : (Number) (float) Math.sqrt(d);
    Block blk = blocks.get(l);
    NDArray qkv = lin.apply(blk.attn(), layerNorm(x, blk.ln1w(), blk.ln1b()), y -> y); // [N, 3C]
    // Heads for all rows at once (a reshape and elementwise scaling: each row alone).
    NDList s3 = qkv.reshape(n, 3, h, d).transpose(1, 2, 0, 3).split(3, 0); // 3 x [1,H,N,D]
    NDArray y = att.apply(l, s3.get(0).div(scale), s3.get(1), s3.get(2));
    x = x.add(lin.apply(blk.proj(), y, z -> z));
    NDArray m = layerNorm(x, blk.ln2w(), blk.ln2b());
    return x.add(lin.apply(blk.out(), lin.apply(blk.fc(), m, this::gelu), z -> z));
  }

  /** Token plus position embeddings: ids and positions [B, T] → [B, T, C]. */
  @Override
  public NDArray embed(NDArray ids, NDArray positions) {
    return wte.get(ids).add(wpe.get(positions));
  }

  /**
   * Runs every block over x [B, T, C] whose keys may also see {@code pastK/pastV} (per layer [B, H,
   * P, D], or null); {@code mask} is additive [B or 1, 1, T, P + T] in float32. When {@code newK}
   * is not null it receives each layer's keys and values over all P + T positions.
   */
  NDArray blocks(
      NDArray x, NDArray mask, NDArray[] pastK, NDArray[] pastV, NDArray[] newK, NDArray[] newV) {
    Shape shape = x.getShape();
    long b = shape.get(0);
    long t = shape.get(1);
    int c = config.width();
    int h = config.heads();
    int d = config.headSize();
    // sqrt(head size) as a float32 scalar, or in float64 for a float64 graph.
    Number scale =
        dtype == DataType.FLOAT64 ? (Number) Math.sqrt(d) : (Number) (float) Math.sqrt(d);
    for (int l = 0; l < config.layers(); l++) {
      Block blk = blocks.get(l);
      NDArray a = layerNorm(x, blk.ln1w(), blk.ln1b());
      NDList qkv = blk.attn().apply(a).split(3, 2); // 3 x [B, T, C]
      NDArray q = heads(qkv.get(0), b, t, h, d); // [B, H, T, D]
      NDArray k = heads(qkv.get(1), b, t, h, d);
      NDArray v = heads(qkv.get(2), b, t, h, d);
      if (pastK != null) {
        k = pastK[l].concat(k, 2); // [B, H, S, D]
        v = pastV[l].concat(v, 2);
      }
      if (newK != null) {
        newK[l] = k;
        newV[l] = v;
      }
      NDArray att = q.matMul(k.transpose(0, 1, 3, 2)).div(scale); // [B, H, T, S]
      // Mask and softmax in float32 so fp16 runs neither overflow the mask nor lose the sum.
      att = att.toType(accumulation(), false).add(mask).softmax(-1).toType(dtype, false);
      NDArray y = att.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, c); // [B, T, C]
      x = x.add(blk.proj().apply(y));
      NDArray m = layerNorm(x, blk.ln2w(), blk.ln2b());
      x = x.add(blk.out().apply(gelu(blk.fc().apply(m))));
    }
    return x;
  }

  /** The final LayerNorm. */
  @Override
  public NDArray finalNorm(NDArray x) {
    return layerNorm(x, lnFw, lnFb);
  }

  /**
   * Training forward pass: token ids [B, T] (every row starting at position 0, no padding) → logits
   * [B, T, V] at every position, through the tied head (so wte gets gradients from both ends).
   */
  public NDArray logitsForTraining(NDArray ids) {
    Shape s = ids.getShape();
    int t = (int) s.get(1);
    if (t > config.contextLength()) {
      throw new IllegalArgumentException(
          "sequence of " + t + " tokens exceeds the context window " + config.contextLength());
    }
    // Embeddings as a one-hot product and a slice, not a gather: a gather's backward scatters with
    // atomic adds across threads (different bits from run to run); a matmul's backward does not.
    NDArray x =
        ids.oneHot(config.vocabSize(), DataType.FLOAT32)
            .matMul(wte)
            .add(wpe.get(new NDIndex("0:{}", t))); // [B, T, C] + [T, C]
    NDArray mask = manager.create(causalMask(t), new Shape(1, 1, t, t));
    NDArray hidden = finalNorm(blocks(x, mask, null, null, null, null));
    return hidden.matMul(wte.transpose());
  }

  /** Additive causal mask [T, T] flattened: 0 on and below the diagonal. */
  static float[] causalMask(int t) {
    float[] m = new float[t * t];
    for (int i = 0; i < t; i++) {
      for (int j = i + 1; j < t; j++) {
        m[i * t + j] = MASKED;
      }
    }
    return m;
  }

  /** The current parameter values as a checkpoint (float32), named after {@code label}. */
  public Gpt2Weights snapshot(Path label) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      NDArray a = e.getValue();
      float[] v;
      if (a.getDataType() == DataType.FLOAT32) {
        v = a.toFloatArray();
      } else {
        try (NDArray f = a.toType(DataType.FLOAT32, true)) {
          v = f.toFloatArray();
        }
      }
      out.put(e.getKey(), new Tensor(e.getKey(), a.getShape().getShape(), v));
    }
    return Gpt2Weights.of(out, config, label);
  }

  static NDArray heads(NDArray x, long b, long t, int h, int d) {
    return x.reshape(b, t, h, d).transpose(0, 2, 1, 3);
  }

  NDArray layerNorm(NDArray x, NDArray w, NDArray b) {
    if (dtype == DataType.FLOAT64) {
      // DJL's layerNorm takes its epsilon as a float (1e-5f is 9.99999974737875e-6): in float64
      // the epsilon stays the config's double, as a float64 forward pass has it.
      NDArray centred = x.sub(x.mean(new int[] {-1}, true));
      NDArray var = centred.mul(centred).mean(new int[] {-1}, true);
      return centred.div(var.add(config.layerNormEpsilon()).sqrt()).mul(w).add(b);
    }
    return LayerNorm.layerNorm(
            x, new Shape(config.width()), w, b, (float) config.layerNormEpsilon())
        .singletonOrThrow();
  }

  /** GPT-2's tanh GELU (gelu_new); DJL's Activation.gelu is the erf form, used only when asked. */
  NDArray gelu(NDArray x) {
    if (!config.tanhGelu()) {
      return Activation.gelu(x);
    }
    if (dtype == DataType.FLOAT64) {
      // Every constant in float64 too: 0.044715f is 0.0447150021791458..., not 0.044715.
      double k = Math.sqrt(2 / Math.PI);
      return x.pow(3).mul(0.044715).add(x).mul(k).tanh().add(1.0).mul(x).mul(0.5);
    }
    float k = (float) Math.sqrt(2 / Math.PI);
    return x.pow(3).mul(0.044715f).add(x).mul(k).tanh().add(1f).mul(x).mul(0.5f);
  }

  @Override
  public void close() {
    manager.close();
  }
}
