package io.tokendrift.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Llama-family decoder's forward pass in float64 over the checkpoint's float32 values, in plain
 * Java arrays: the reference that engines' logits are held against. Not an engine: no threads, no
 * tricks, every sum in index order.
 *
 * <p>It follows Hugging Face transformers' modeling code, read for this class in the
 * huggingface/transformers repository (modeling_llama.py, modeling_qwen2.py, modeling_qwen3.py,
 * configuration_mistral.py, modeling_rope_utils.py, generation/utils.py):
 *
 * <ul>
 *   <li>{@code LlamaRMSNorm} / {@code Qwen2RMSNorm} / {@code Qwen3RMSNorm}: {@code variance =
 *       mean(x²)}, {@code x * rsqrt(variance + eps)}, then {@code weight * x}; no mean, no bias.
 *   <li>{@code LlamaRotaryEmbedding.forward}: {@code freqs = inv_freq ⊗ position_ids}, {@code emb =
 *       cat(freqs, freqs)}, cos and sin of it (attention scaling 1 for default and llama3 RoPE);
 *       {@code rotate_half(x) = cat(-x2, x1)} over the first and second halves of a head (not
 *       interleaved pairs); {@code apply_rotary_pos_emb}: {@code q * cos + rotate_half(q) * sin}.
 *   <li>{@code _compute_default_rope_parameters}: {@code inv_freq = 1 / base^(arange(0, dim, 2) /
 *       dim)} with {@code dim = head_dim}; {@code _compute_llama3_parameters}: the wavelength test
 *       against {@code original_max_position_embeddings / low_freq_factor} and {@code /
 *       high_freq_factor}, with the smooth interpolation between, written here as its {@code
 *       torch.where} steps. transformers keeps {@code inv_freq} as a float32 buffer; so does this
 *       class (rounded once from float64), and the angles and everything after are float64.
 *   <li>{@code repeat_kv}: key/value head {@code g} serves query heads {@code g * n_rep ... g *
 *       n_rep + n_rep - 1}, i.e. query head {@code h} reads kv head {@code h / (heads / kvHeads)}.
 *   <li>{@code eager_attention_forward}: {@code softmax(q·kᵀ * head_dim^-0.5 + mask)·v}, causal,
 *       padded keys masked.
 *   <li>{@code LlamaMLP}: {@code down(silu(gate(x)) * up(x))}, with bias only when {@code
 *       mlp_bias}.
 *   <li>{@code LlamaAttention}: q, k, v and o carry a bias iff {@code attention_bias}; {@code
 *       Qwen2Attention}: q, k, v always, o never; {@code Qwen3Attention}: {@code q_norm}/{@code
 *       k_norm} (RMSNorm over {@code head_dim}, one weight shared by all heads) applied to every
 *       head after the projection and before RoPE.
 *   <li>Decoder layer: {@code x += attn(input_layernorm(x))}, {@code x +=
 *       mlp(post_attention_layernorm(x))}; then {@code norm} and {@code lm_head} (or {@code
 *       embed_tokens} when tied).
 *   <li>Left-padded batches as {@code GenerationMixin.prepare_inputs_for_generation} feeds them:
 *       {@code position_ids = attention_mask.cumsum(-1) - 1}, so a row's first real token is at
 *       position 0 whatever its padding.
 * </ul>
 *
 * <p>Sliding-window attention is not computed: a context longer than the window is refused, as
 * {@link LlamaConfig#checkContext} refuses it for the engines.
 */
public final class Float64Llama {
  private final LlamaConfig c;
  private final double[] embed;
  private final double[] head;
  private final double[] finalNorm;
  private final double[] invFreq;
  private final Layer[] layers;

  /** One decoder layer's weights in float64; absent biases and norms are null. */
  private record Layer(
      double[] inNorm,
      double[] wq,
      double[] bq,
      double[] wk,
      double[] bk,
      double[] wv,
      double[] bv,
      double[] wo,
      double[] bo,
      double[] qNorm,
      double[] kNorm,
      double[] postNorm,
      double[] wg,
      double[] bg,
      double[] wu,
      double[] bu,
      double[] wd,
      double[] bd) {}

  public Float64Llama(LlamaWeights w) {
    c = w.config();
    embed = d(w.embedding());
    head = c.tiedHead() ? embed : d(w.lmHead());
    finalNorm = d(w.get("norm.weight"));
    invFreq = inverseFrequencies(c);
    layers = new Layer[c.layers()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] =
          new Layer(
              d(w.get(LlamaWeights.layer(i, "input_layernorm.weight"))),
              d(w.get(LlamaWeights.layer(i, "self_attn.q_proj.weight"))),
              c.qkvBias() ? d(w.get(LlamaWeights.layer(i, "self_attn.q_proj.bias"))) : null,
              d(w.get(LlamaWeights.layer(i, "self_attn.k_proj.weight"))),
              c.qkvBias() ? d(w.get(LlamaWeights.layer(i, "self_attn.k_proj.bias"))) : null,
              d(w.get(LlamaWeights.layer(i, "self_attn.v_proj.weight"))),
              c.qkvBias() ? d(w.get(LlamaWeights.layer(i, "self_attn.v_proj.bias"))) : null,
              d(w.get(LlamaWeights.layer(i, "self_attn.o_proj.weight"))),
              c.outputBias() ? d(w.get(LlamaWeights.layer(i, "self_attn.o_proj.bias"))) : null,
              c.qkNorm() ? d(w.get(LlamaWeights.layer(i, "self_attn.q_norm.weight"))) : null,
              c.qkNorm() ? d(w.get(LlamaWeights.layer(i, "self_attn.k_norm.weight"))) : null,
              d(w.get(LlamaWeights.layer(i, "post_attention_layernorm.weight"))),
              d(w.get(LlamaWeights.layer(i, "mlp.gate_proj.weight"))),
              c.mlpBias() ? d(w.get(LlamaWeights.layer(i, "mlp.gate_proj.bias"))) : null,
              d(w.get(LlamaWeights.layer(i, "mlp.up_proj.weight"))),
              c.mlpBias() ? d(w.get(LlamaWeights.layer(i, "mlp.up_proj.bias"))) : null,
              d(w.get(LlamaWeights.layer(i, "mlp.down_proj.weight"))),
              c.mlpBias() ? d(w.get(LlamaWeights.layer(i, "mlp.down_proj.bias"))) : null);
    }
  }

  public LlamaConfig config() {
    return c;
  }

  private static double[] d(Tensor t) {
    float[] f = t.data();
    double[] out = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = f[i];
    }
    return out;
  }

  /**
   * RoPE's {@code inv_freq} written as transformers' {@code _compute_default_rope_parameters} and
   * {@code _compute_llama3_parameters} compute it (their {@code torch.where} steps, in float64),
   * rounded to float32 like the buffer transformers holds. Deliberately not {@link
   * LlamaConfig#ropeInverseFrequencies()}: the two are tested against each other.
   */
  public static double[] inverseFrequencies(LlamaConfig c) {
    int dim = c.headDim();
    double[] inv = new double[dim / 2];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1.0 / Math.pow(c.ropeTheta(), (double) (2 * i) / dim);
    }
    LlamaConfig.Llama3Scaling s = c.ropeScaling();
    if (s != null) {
      double oldContext = s.originalMaxPositionEmbeddings();
      double lowFreqWavelen = oldContext / s.lowFreqFactor();
      double highFreqWavelen = oldContext / s.highFreqFactor();
      for (int i = 0; i < inv.length; i++) {
        double wavelen = 2 * Math.PI / inv[i];
        double llama = wavelen > lowFreqWavelen ? inv[i] / s.factor() : inv[i];
        double smooth =
            (oldContext / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        double smoothed = (1 - smooth) * llama / s.factor() + smooth * llama;
        boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
        inv[i] = medium ? smoothed : llama;
      }
    }
    for (int i = 0; i < inv.length; i++) {
      inv[i] = (float) inv[i];
    }
    return inv;
  }

  /** {@code apply_rotary_pos_emb} on one head's vector at {@code position}: rotate_half form. */
  public double[] rope(double[] x, double position) {
    int half = x.length / 2;
    double[] out = new double[x.length];
    for (int i = 0; i < half; i++) {
      double angle = position * invFreq[i];
      double cos = Math.cos(angle);
      double sin = Math.sin(angle);
      // rotate_half(x) = cat(-x[half:], x[:half]); cos and sin repeat over both halves.
      out[i] = x[i] * cos - x[i + half] * sin;
      out[i + half] = x[i + half] * cos + x[i] * sin;
    }
    return out;
  }

  /**
   * Logits at the last position of each row, the rows left-padded to the longest as a batched
   * {@code generate} holds them.
   */
  public double[][] logits(int[][] rows) {
    int t = 0;
    for (int[] r : rows) {
      t = Math.max(t, r.length);
    }
    int[][] tokens = new int[rows.length][t];
    boolean[][] mask = new boolean[rows.length][t];
    for (int b = 0; b < rows.length; b++) {
      if (rows[b].length == 0) {
        throw new IllegalArgumentException("row " + b + " is empty");
      }
      int pad = t - rows[b].length;
      System.arraycopy(rows[b], 0, tokens[b], pad, rows[b].length);
      Arrays.fill(mask[b], pad, t, true);
    }
    return logits(tokens, mask);
  }

  /**
   * Logits at the last position of each row of a padded batch: {@code tokens} [B][T], {@code mask}
   * [B][T] true at real tokens, the last position of every row real. Padded positions are neither
   * attended to nor counted in position ids; their own outputs are not computed.
   */
  public double[][] logits(int[][] tokens, boolean[][] mask) {
    double[][][] h = hidden(tokens, mask);
    double[][] out = new double[tokens.length][];
    for (int b = 0; b < tokens.length; b++) {
      int last = tokens[b].length - 1;
      if (!mask[b][last]) {
        throw new IllegalArgumentException("row " + b + " ends in padding; pad on the left");
      }
      out[b] = head(h[b][last]);
    }
    return out;
  }

  /** Logits [T][V] at every position of one unpadded sequence. */
  public double[][] allLogits(int[] tokens) {
    boolean[][] mask = new boolean[1][tokens.length];
    Arrays.fill(mask[0], true);
    double[][] h = hidden(new int[][] {tokens}, mask)[0];
    double[][] out = new double[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      out[i] = head(h[i]);
    }
    return out;
  }

  /** The final-normed hidden states [B][T][H]; rows at padded positions are left zero. */
  private double[][][] hidden(int[][] tokens, boolean[][] mask) {
    int batch = tokens.length;
    int t = tokens[0].length;
    c.checkContext(t);
    int hs = c.hiddenSize();
    double[][][] x = new double[batch][t][];
    int[][] pos = new int[batch][t];
    for (int b = 0; b < batch; b++) {
      int p = 0;
      for (int i = 0; i < t; i++) {
        x[b][i] = Arrays.copyOfRange(embed, tokens[b][i] * hs, (tokens[b][i] + 1) * hs);
        pos[b][i] = mask[b][i] ? p++ : 1; // cumsum(mask) - 1, padding filled with 1 as HF does
      }
    }
    for (Layer l : layers) {
      for (int b = 0; b < batch; b++) {
        double[][] k = new double[t][];
        double[][] v = new double[t][];
        double[][] q = new double[t][];
        for (int i = 0; i < t; i++) {
          if (mask[b][i]) {
            double[] n = rmsNorm(x[b][i], l.inNorm());
            q[i] = project(l, n, pos[b][i], true);
            k[i] = project(l, n, pos[b][i], false);
            v[i] = linear(n, l.wv(), l.bv());
          }
        }
        for (int i = 0; i < t; i++) {
          if (mask[b][i]) {
            List<double[]> keys = new ArrayList<>();
            List<double[]> values = new ArrayList<>();
            for (int j = 0; j <= i; j++) {
              if (mask[b][j]) {
                keys.add(k[j]);
                values.add(v[j]);
              }
            }
            block(l, x[b][i], q[i], keys, values);
          }
        }
      }
    }
    double[][][] out = new double[batch][t][];
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < t; i++) {
        out[b][i] = mask[b][i] ? rmsNorm(x[b][i], finalNorm) : new double[hs];
      }
    }
    return out;
  }

  /**
   * Query ({@code query} true) or key of one position: projection (+ bias), Qwen3's per-head
   * RMSNorm, then RoPE per head. [heads or kvHeads × headDim]
   */
  private double[] project(Layer l, double[] n, int position, boolean query) {
    double[] y = query ? linear(n, l.wq(), l.bq()) : linear(n, l.wk(), l.bk());
    double[] norm = query ? l.qNorm() : l.kNorm();
    int hd = c.headDim();
    for (int h = 0; h < y.length / hd; h++) {
      double[] part = Arrays.copyOfRange(y, h * hd, (h + 1) * hd);
      if (norm != null) {
        part = rmsNorm(part, norm);
      }
      System.arraycopy(rope(part, position), 0, y, h * hd, hd);
    }
    return y;
  }

  /**
   * One position's attention over {@code keys}/{@code values} (already causal and unpadded, oldest
   * first) followed by the MLP, both added into the residual {@code x} in place.
   */
  private void block(Layer l, double[] x, double[] q, List<double[]> keys, List<double[]> values) {
    int hd = c.headDim();
    int groups = c.kvGroups();
    double scale = 1 / Math.sqrt(hd);
    double[] attn = new double[c.heads() * hd];
    double[] score = new double[keys.size()];
    for (int h = 0; h < c.heads(); h++) {
      int kvOff = (h / groups) * hd; // repeat_kv: query head h reads kv head h / n_rep
      int qOff = h * hd;
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < keys.size(); j++) {
        double s = 0;
        for (int e = 0; e < hd; e++) {
          s += q[qOff + e] * keys.get(j)[kvOff + e];
        }
        score[j] = s * scale;
        max = Math.max(max, score[j]);
      }
      double z = 0;
      for (int j = 0; j < keys.size(); j++) {
        score[j] = Math.exp(score[j] - max);
        z += score[j];
      }
      for (int j = 0; j < keys.size(); j++) {
        double p = score[j] / z;
        for (int e = 0; e < hd; e++) {
          attn[qOff + e] += p * values.get(j)[kvOff + e];
        }
      }
    }
    add(x, linear(attn, l.wo(), l.bo()));
    double[] n = rmsNorm(x, l.postNorm());
    double[] gate = linear(n, l.wg(), l.bg());
    double[] up = linear(n, l.wu(), l.bu());
    for (int i = 0; i < gate.length; i++) {
      gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i]; // silu(gate) * up
    }
    add(x, linear(gate, l.wd(), l.bd()));
  }

  /** RMSNorm as LlamaRMSNorm: x * rsqrt(mean(x²) + eps), then weight * x. */
  private double[] rmsNorm(double[] x, double[] weight) {
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = weight[i] * (x[i] * inv);
    }
    return out;
  }

  /** nn.Linear: w [out, in], y = w·x + b. */
  private static double[] linear(double[] x, double[] w, double[] b) {
    int in = x.length;
    double[] y = new double[w.length / in];
    for (int o = 0; o < y.length; o++) {
      double s = 0;
      int base = o * in;
      for (int i = 0; i < in; i++) {
        s += w[base + i] * x[i];
      }
      y[o] = b == null ? s : s + b[o];
    }
    return y;
  }

  private double[] head(double[] h) {
    return linear(h, head, null);
  }

  private static void add(double[] x, double[] y) {
    for (int i = 0; i < x.length; i++) {
      x[i] += y[i];
    }
  }

  /**
   * Incremental decoding with a KV cache, one unpadded sequence: each {@link #append} runs one
   * position against the cached rotated keys and values of the earlier ones.
   */
  public Decoder decoder() {
    return new Decoder();
  }

  /** A KV-cached sequence; see {@link #decoder()}. */
  public final class Decoder {
    private final List<List<double[]>> keys = new ArrayList<>();
    private final List<List<double[]>> values = new ArrayList<>();
    private double[] last;

    private Decoder() {
      for (int i = 0; i < layers.length; i++) {
        keys.add(new ArrayList<>());
        values.add(new ArrayList<>());
      }
    }

    /** Feeds {@code token} at the next position and returns the logits after it. */
    public double[] append(int token) {
      int position = keys.get(0).size();
      c.checkContext(position + 1);
      int hs = c.hiddenSize();
      double[] x = Arrays.copyOfRange(embed, token * hs, (token + 1) * hs);
      for (int li = 0; li < layers.length; li++) {
        Layer l = layers[li];
        double[] n = rmsNorm(x, l.inNorm());
        double[] q = project(l, n, position, true);
        keys.get(li).add(project(l, n, position, false));
        values.get(li).add(linear(n, l.wv(), l.bv()));
        block(l, x, q, keys.get(li), values.get(li));
      }
      last = head(rmsNorm(x, finalNorm));
      return last.clone();
    }

    /** Feeds every token of {@code tokens}; returns the logits after the last. */
    public double[] appendAll(int[] tokens) {
      double[] out = null;
      for (int t : tokens) {
        out = append(t);
      }
      return out;
    }

    /** Tokens fed so far. */
    public int length() {
      return keys.get(0).size();
    }
  }

  /**
   * Greedy decoding of {@code steps} tokens per prompt with the KV cache, no stop token: the
   * largest logit, the lowest id on a tie (as {@code torch.argmax}).
   */
  public int[] greedy(int[] prompt, int steps) {
    Decoder d = decoder();
    double[] logits = d.appendAll(prompt);
    int[] out = new int[steps];
    for (int s = 0; s < steps; s++) {
      out[s] = argmax(logits);
      if (s + 1 < steps) {
        logits = d.append(out[s]);
      }
    }
    return out;
  }

  /**
   * Greedy decoding of {@code steps} tokens for every prompt at once, as a batched {@code generate}
   * does it: the prompts left-padded together, every step a full recomputation of the padded batch
   * with each row's new token appended.
   */
  public int[][] greedyBatch(int[][] prompts, int steps) {
    int[][] rows = new int[prompts.length][];
    for (int b = 0; b < prompts.length; b++) {
      rows[b] = prompts[b].clone();
    }
    int[][] out = new int[prompts.length][steps];
    for (int s = 0; s < steps; s++) {
      double[][] lg = logits(rows);
      for (int b = 0; b < rows.length; b++) {
        out[b][s] = argmax(lg[b]);
        rows[b] = Arrays.copyOf(rows[b], rows[b].length + 1);
        rows[b][rows[b].length - 1] = out[b][s];
      }
    }
    return out;
  }

  /** The index of the largest value, the lowest on a tie. */
  public static int argmax(double[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }
}
