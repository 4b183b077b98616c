package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.model.LlamaConfig;
import io.tokendrift.model.LlamaWeights;
import io.tokendrift.model.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The Llama family's forward computation (Hugging Face's {@code modeling_llama}, {@code
 * modeling_mistral}, {@code modeling_qwen2}, {@code modeling_qwen3}) on DJL NDArrays:
 *
 * <ul>
 *   <li>RMSNorm as transformers computes it: in float32, {@code x / sqrt(mean(x²) + eps)}, then
 *       times the weight in the model's precision;
 *   <li>rotary embeddings on q and k with {@code rotate_half} (first half against second half, not
 *       interleaved), cos and sin of {@code position × inv_freq} taken in float32 (transformers
 *       multiplies in float32 too) from the config's {@code inv_freq} (llama3 scaling applied);
 *   <li>grouped-query attention: the cache holds the {@code num_key_value_heads} heads; each serves
 *       {@code heads / kvHeads} consecutive query heads ({@code repeat_kv});
 *   <li>q, k and v as one fused product (their weights side by side, biases where the config says),
 *       likewise gate and up; SwiGLU {@code down(silu(gate) × up)};
 *   <li>Qwen3's per-head RMSNorm of q and k before the rotation.
 * </ul>
 */
final class LlamaGraph implements DecoderGraph {
  private final LlamaConfig c;
  private final NDManager manager;
  private final DataType dtype;
  private final NDArray embed; // [V, C]
  private final List<Layer> layers = new ArrayList<>();
  private final NDArray norm;
  private final Linear lmHead; // [C, V]
  private final float[] invFreq;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final Number scaling;
  private NDArray rotationFor; // the positions the cached rotation is for (identity)
  private NDArray[] rotation;

  private record Layer(
      NDArray inNorm,
      Linear qkv,
      NDArray qNorm,
      NDArray kNorm,
      Linear o,
      NDArray postNorm,
      Linear gateUp,
      Linear down) {}

  LlamaGraph(LlamaWeights w, NDManager manager, DataType dtype, SummationOrder order) {
    this.c = w.config();
    this.manager = manager;
    this.dtype = dtype;
    this.heads = c.heads();
    this.kvHeads = c.kvHeads();
    this.headDim = c.headDim();
    // head_dim^-0.5, as a float32 scalar, or in float64 for a float64 graph.
    this.scaling =
        dtype == DataType.FLOAT64
            ? (Number) (1 / Math.sqrt(headDim))
            : (float) (1 / Math.sqrt(headDim));
    this.invFreq = c.ropeInverseFrequencies();
    embed = array(w.embedding());
    for (int i = 0; i < c.layers(); i++) {
      String a = "self_attn.";
      String m = "mlp.";
      layers.add(
          new Layer(
              array(w.get(LlamaWeights.layer(i, "input_layernorm.weight"))),
              fused(w, i, order, c.qkvBias(), a + "q_proj", a + "k_proj", a + "v_proj"),
              c.qkNorm() ? array(w.get(LlamaWeights.layer(i, a + "q_norm.weight"))) : null,
              c.qkNorm() ? array(w.get(LlamaWeights.layer(i, a + "k_norm.weight"))) : null,
              fused(w, i, order, c.outputBias(), a + "o_proj"),
              array(w.get(LlamaWeights.layer(i, "post_attention_layernorm.weight"))),
              fused(w, i, order, c.mlpBias(), m + "gate_proj", m + "up_proj"),
              fused(w, i, order, c.mlpBias(), m + "down_proj")));
    }
    norm = array(w.get("norm.weight"));
    NDArray head = c.tiedHead() ? embed : array(w.lmHead());
    lmHead = new Linear(transposed(head, head != embed), null, order);
  }

  private NDArray array(Tensor t) {
    NDArray a = manager.create(t.data(), new Shape(t.shape()));
    if (dtype != DataType.FLOAT32) {
      NDArray h = a.toType(dtype, false);
      a.close();
      a = h;
    }
    return a;
  }

  /** [out, in] → [in, out], contiguous; {@code closeInput} frees the original. */
  private static NDArray transposed(NDArray a, boolean closeInput) {
    NDArray t = a.transpose().duplicate();
    if (closeInput) {
      a.close();
    }
    return t;
  }

  /**
   * The projections {@code names} of layer {@code i} as one linear layer: their [out, in] weights
   * stacked along out and transposed to [in, Σout], their biases (zeros where absent) joined.
   */
  private Linear fused(LlamaWeights w, int i, SummationOrder order, boolean bias, String... names) {
    NDArray[] ws = new NDArray[names.length];
    NDArray[] bs = new NDArray[names.length];
    for (int j = 0; j < names.length; j++) {
      ws[j] = array(w.get(LlamaWeights.layer(i, names[j] + ".weight")));
      if (bias) {
        bs[j] = array(w.get(LlamaWeights.layer(i, names[j] + ".bias")));
      }
    }
    NDArray weight;
    NDArray b = null;
    if (names.length == 1) {
      weight = transposed(ws[0], true);
      b = bs[0];
    } else {
      NDArray stacked = NDArrays.concat(new NDList(ws), 0);
      for (NDArray x : ws) {
        x.close();
      }
      weight = transposed(stacked, true);
      if (bias) {
        b = NDArrays.concat(new NDList(bs), 0);
        for (NDArray x : bs) {
          x.close();
        }
      }
    }
    return new Linear(weight, b, order);
  }

  @Override
  public DataType dtype() {
    return dtype;
  }

  @Override
  public int layers() {
    return c.layers();
  }

  @Override
  public int attentionWidth() {
    return heads * headDim;
  }

  @Override
  public int kvGroups() {
    return heads / kvHeads;
  }

  @Override
  public int heads() {
    return heads;
  }

  @Override
  public Linear lmHead() {
    return lmHead;
  }

  @Override
  public NDArray embed(NDArray ids, NDArray positions) {
    return embed.get(ids); // positions enter through the rotary embeddings
  }

  @Override
  public NDArray finalNorm(NDArray x) {
    return rms(x, norm);
  }

  /** RMSNorm over the last axis, in float32 as transformers computes it, then times the weight. */
  NDArray rms(NDArray x, NDArray weight) {
    DataType acc = accumulation();
    NDArray xf = dtype == acc ? x : x.toType(acc, false);
    NDArray var = xf.mul(xf).mean(new int[] {-1}, true);
    NDArray y =
        xf.div(
            (acc == DataType.FLOAT64 ? var.add(c.rmsNormEps()) : var.add((float) c.rmsNormEps()))
                .sqrt());
    if (dtype != acc) {
      y = y.toType(dtype, false);
    }
    return y.mul(weight);
  }

  /**
   * cos and sin of every position's angles, [positions..., 1, D] as the last axis of q and k: each
   * angle is {@code position × inv_freq} multiplied in float32, both halves alike ({@code
   * cat(freqs, freqs)}).
   */
  private NDArray[] rotation(NDArray positions, Shape shape) {
    long[] pos = positions.toLongArray();
    int half = headDim / 2;
    if (dtype == DataType.FLOAT64) {
      // The float32 inverse frequencies (transformers' buffer), then angles, cos and sin in
      // float64.
      double[] cos = new double[pos.length * headDim];
      double[] sin = new double[pos.length * headDim];
      for (int p = 0; p < pos.length; p++) {
        for (int i = 0; i < half; i++) {
          double angle = (double) pos[p] * (double) invFreq[i];
          cos[p * headDim + i] = Math.cos(angle);
          cos[p * headDim + half + i] = Math.cos(angle);
          sin[p * headDim + i] = Math.sin(angle);
          sin[p * headDim + half + i] = Math.sin(angle);
        }
      }
      return new NDArray[] {manager.create(cos, shape), manager.create(sin, shape)};
    }
    float[] cos = new float[pos.length * headDim];
    float[] sin = new float[pos.length * headDim];
    for (int p = 0; p < pos.length; p++) {
      float fp = pos[p];
      for (int i = 0; i < half; i++) {
        float angle = fp * invFreq[i];
        float co = (float) Math.cos(angle);
        float si = (float) Math.sin(angle);
        cos[p * headDim + i] = co;
        cos[p * headDim + half + i] = co;
        sin[p * headDim + i] = si;
        sin[p * headDim + half + i] = si;
      }
    }
    NDArray cs = manager.create(cos, shape);
    NDArray sn = manager.create(sin, shape);
    if (dtype != DataType.FLOAT32) {
      cs = cs.toType(dtype, false);
      sn = sn.toType(dtype, false);
    }
    return new NDArray[] {cs, sn};
  }

  /** x·cos + rotate_half(x)·sin over the last axis (D), rotate_half(x) = [-x2, x1]. */
  private static NDArray rope(NDArray x, NDArray[] cs) {
    int last = x.getShape().dimension() - 1;
    NDList halves = x.split(2, last);
    NDArray rotated = halves.get(1).neg().concat(halves.get(0), last);
    return x.mul(cs[0]).add(rotated.mul(cs[1]));
  }

  /** SwiGLU on a [.., 2I] gate-and-up output: silu(gate) × up, [.., I]. */
  private static NDArray swiglu(NDArray gateUp) {
    NDList gu = gateUp.split(2, gateUp.getShape().dimension() - 1);
    NDArray gate = gu.get(0);
    return gate.mul(Activation.sigmoid(gate)).mul(gu.get(1));
  }

  /** q, k, v [.., H or KV, D] from the fused projection's output [.., (H + 2KV)·D]. */
  private NDArray[] split(NDArray qkv, long... lead) {
    NDList p =
        qkv.split(
            new long[] {(long) heads * headDim, (long) (heads + kvHeads) * headDim},
            qkv.getShape().dimension() - 1);
    return new NDArray[] {
      p.get(0).reshape(shape(lead, heads)),
      p.get(1).reshape(shape(lead, kvHeads)),
      p.get(2).reshape(shape(lead, kvHeads))
    };
  }

  private Shape shape(long[] lead, int h) {
    long[] s = new long[lead.length + 2];
    System.arraycopy(lead, 0, s, 0, lead.length);
    s[lead.length] = h;
    s[lead.length + 1] = headDim;
    return new Shape(s);
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
    Shape shape = x.getShape();
    long b = shape.get(0);
    long t = shape.get(1);
    int groups = kvGroups();
    NDArray[] cs = rotation(positions, new Shape(b, t, 1, headDim)); // broadcast over heads
    for (int l = 0; l < c.layers(); l++) {
      Layer L = layers.get(l);
      NDArray[] qkv = split(L.qkv().apply(rms(x, L.inNorm())), b, t); // [B, T, ·, D]
      NDArray q = qkv[0];
      NDArray k = qkv[1];
      if (L.qNorm() != null) {
        q = rms(q, L.qNorm());
        k = rms(k, L.kNorm());
      }
      q = rope(q, cs).transpose(0, 2, 1, 3); // [B, H, T, D]
      k = rope(k, cs).transpose(0, 2, 1, 3); // [B, KV, T, D]
      NDArray v = qkv[2].transpose(0, 2, 1, 3);
      if (pastK != null) {
        k = pastK[l].concat(k, 2); // [B, KV, S, D]
        v = pastV[l].concat(v, 2);
      }
      newK[l] = k;
      newV[l] = v;
      // Grouped-query attention without copying the cache per query head: query head h = kv·G + g
      // (transformers' repeat_kv order), so the heads regroup as [B, KV, G·T, D] against the KV
      // heads.
      long s = k.getShape().get(2);
      NDArray qg = q.reshape(b, kvHeads, groups * t, headDim);
      NDArray att = qg.matMul(k.transpose(0, 1, 3, 2)).mul(scaling); // [B, KV, G·T, S]
      // Mask and softmax in float32, as transformers' eager attention does.
      att =
          att.toType(accumulation(), false)
              .reshape(b, kvHeads, groups, t, s)
              .add(mask.expandDims(2)) // [B, 1, 1, T, S]
              .softmax(-1)
              .reshape(b, kvHeads, groups * t, s)
              .toType(dtype, false);
      NDArray y =
          att.matMul(v) // [B, KV, G·T, D]
              .reshape(b, heads, t, headDim)
              .transpose(0, 2, 1, 3)
              .reshape(b, t, attentionWidth());
      x = x.add(L.o().apply(y));
      NDArray m = rms(x, L.postNorm());
      x = x.add(L.down().apply(swiglu(L.gateUp().apply(m))));
    }
    return x;
  }

  @Override
  public NDArray invariantLayer(
      int l, NDArray x, NDArray positions, Grouped lin, RowAttention att) {
    long n = x.getShape().get(0);
    Layer L = layers.get(l);
    NDArray[] qkv = split(lin.apply(L.qkv(), rms(x, L.inNorm()), y -> y), n); // [N, ·, D]
    NDArray q = qkv[0];
    NDArray k = qkv[1];
    if (L.qNorm() != null) {
      q = rms(q, L.qNorm());
      k = rms(k, L.kNorm());
    }
    if (positions != rotationFor) {
      // Once per forward pass: every layer rotates by the same positions.
      rotationFor = positions;
      rotation = rotation(positions, new Shape(n, 1, headDim));
    }
    NDArray[] cs = rotation;
    // Rotation and scaling are elementwise (each row alone); heads to [1, ·, N, D].
    q = rope(q, cs).mul(scaling).transpose(1, 0, 2).expandDims(0);
    k = rope(k, cs).transpose(1, 0, 2).expandDims(0);
    NDArray v = qkv[2].transpose(1, 0, 2).expandDims(0);
    NDArray y = att.apply(l, q, k, v);
    x = x.add(lin.apply(L.o(), y, z -> z));
    NDArray m = rms(x, L.postNorm());
    return x.add(lin.apply(L.down(), lin.apply(L.gateUp(), m, LlamaGraph::swiglu), z -> z));
  }

  @Override
  public void close() {
    manager.close();
  }
}
