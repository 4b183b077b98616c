package io.tokendrift.model;

import static io.tokendrift.model.GgufFile.FILE_TYPE_ALL_F32;
import static io.tokendrift.model.GgufFile.FILE_TYPE_MOSTLY_F16;
import static io.tokendrift.model.GgufFile.TYPE_BOOL;
import static io.tokendrift.model.GgufFile.TYPE_FLOAT32;
import static io.tokendrift.model.GgufFile.TYPE_STRING;
import static io.tokendrift.model.GgufFile.TYPE_UINT32;

import io.tokendrift.model.GgufFile.Kv;
import io.tokendrift.model.GgufFile.Out;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family folder's GGUF metadata and tensors, as llama.cpp's converter writes them (see
 * {@link #llama}).
 */
final class GgufLlama {
  private GgufLlama() {}

  /**
   * A Llama-family folder as llama.cpp's converter writes it: {@code llama} (Llama and Mistral),
   * {@code qwen2} or {@code qwen3} architecture; for {@code llama}, the q and k rows of every head
   * permuted from Hugging Face's rotate-half layout to the interleaved pairs llama.cpp's LLAMA
   * graph rotates ({@code LlamaModel.permute}); Qwen's graphs rotate halves (NEOX) and take them as
   * they are. Llama 3.1's RoPE scaling travels as {@code rope_freqs.weight}, the divisor of each
   * frequency. The LM head is always written ({@code output.weight}, a copy of the embedding when
   * tied). Tensors are read one at a time from the checkpoint as they are written.
   */
  static void llama(ModelDir dir, LlamaConfig c, List<Kv> kv, List<Out> tensors, boolean f16)
      throws IOException {
    LlamaWeights w = dir.llamaWeights();
    String arch = GgufWriter.architecture(c);
    boolean permute = arch.equals("llama");
    refuseWhatLlamaCppCannotLoad(dir, c, arch);
    kv.add(new Kv("general.architecture", TYPE_STRING, arch));
    kv.add(new Kv("general.name", TYPE_STRING, String.valueOf(dir.dir().getFileName())));
    kv.add(
        new Kv("general.file_type", TYPE_UINT32, f16 ? FILE_TYPE_MOSTLY_F16 : FILE_TYPE_ALL_F32));
    kv.add(new Kv("general.alignment", TYPE_UINT32, GgufFile.ALIGNMENT));
    kv.add(new Kv(arch + ".vocab_size", TYPE_UINT32, c.vocabSize()));
    kv.add(new Kv(arch + ".context_length", TYPE_UINT32, c.maxPositionEmbeddings()));
    kv.add(new Kv(arch + ".embedding_length", TYPE_UINT32, c.hiddenSize()));
    kv.add(new Kv(arch + ".feed_forward_length", TYPE_UINT32, c.intermediateSize()));
    kv.add(new Kv(arch + ".block_count", TYPE_UINT32, c.layers()));
    kv.add(new Kv(arch + ".attention.head_count", TYPE_UINT32, c.heads()));
    kv.add(new Kv(arch + ".attention.head_count_kv", TYPE_UINT32, c.kvHeads()));
    kv.add(new Kv(arch + ".attention.key_length", TYPE_UINT32, c.headDim()));
    kv.add(new Kv(arch + ".attention.value_length", TYPE_UINT32, c.headDim()));
    kv.add(new Kv(arch + ".rope.dimension_count", TYPE_UINT32, c.headDim()));
    kv.add(new Kv(arch + ".rope.freq_base", TYPE_FLOAT32, (float) c.ropeTheta()));
    kv.add(
        new Kv(arch + ".attention.layer_norm_rms_epsilon", TYPE_FLOAT32, (float) c.rmsNormEps()));
    Path tok = dir.dir().resolve(ModelDir.TOKENIZER);
    GgufTokenizer.write(tok, c.vocabSize(), GgufTokenizer.preTokenizer(tok), kv);
    int bos = Tokenizers.bosToPrepend(dir);
    if (c.bosTokenId() >= 0 || bos >= 0) {
      kv.add(new Kv("tokenizer.ggml.bos_token_id", TYPE_UINT32, bos >= 0 ? bos : c.bosTokenId()));
    }
    if (!c.eosTokenIds().isEmpty()) {
      kv.add(new Kv("tokenizer.ggml.eos_token_id", TYPE_UINT32, c.eosTokenIds().get(0)));
    }
    kv.add(new Kv("tokenizer.ggml.add_bos_token", TYPE_BOOL, bos >= 0));
    kv.add(new Kv("tokenizer.ggml.add_eos_token", TYPE_BOOL, false));

    Map<String, long[]> shapes = new java.util.HashMap<>();
    LlamaWeights.expectedShapes(c).forEach(e -> shapes.put(e.getKey(), e.getValue()));
    long[] head = {c.vocabSize(), c.hiddenSize()};
    tensors.add(new Out("token_embd.weight", head, () -> w.embedding().data()));
    if (c.ropeScaling() != null) {
      tensors.add(ropeFactors(c));
    }
    int d = c.headDim();
    for (int i = 0; i < c.layers(); i++) {
      String b = "blk." + i + ".";
      int layer = i;
      java.util.function.BiFunction<String, String, Out> hf =
          (to, from) -> {
            String name = LlamaWeights.layer(layer, from);
            return new Out(b + to, shapes.get(name), () -> w.get(name).data());
          };
      tensors.add(hf.apply("attn_norm.weight", "input_layernorm.weight"));
      String[][] qkv = {{"q", "attn_q"}, {"k", "attn_k"}, {"v", "attn_v"}};
      for (String[] p : qkv) {
        int heads = p[0].equals("q") ? c.heads() : c.kvHeads();
        boolean reorder = permute && !p[0].equals("v");
        String src = "self_attn." + p[0] + "_proj.";
        tensors.add(rows(hf.apply(p[1] + ".weight", src + "weight"), reorder, heads, d));
        if (c.qkvBias()) {
          tensors.add(rows(hf.apply(p[1] + ".bias", src + "bias"), reorder, heads, d));
        }
      }
      tensors.add(hf.apply("attn_output.weight", "self_attn.o_proj.weight"));
      if (c.outputBias()) {
        tensors.add(hf.apply("attn_output.bias", "self_attn.o_proj.bias"));
      }
      if (c.qkNorm()) {
        tensors.add(hf.apply("attn_q_norm.weight", "self_attn.q_norm.weight"));
        tensors.add(hf.apply("attn_k_norm.weight", "self_attn.k_norm.weight"));
      }
      tensors.add(hf.apply("ffn_norm.weight", "post_attention_layernorm.weight"));
      for (String[] f : new String[][] {{"gate", "gate"}, {"up", "up"}, {"down", "down"}}) {
        tensors.add(hf.apply("ffn_" + f[0] + ".weight", "mlp." + f[1] + "_proj.weight"));
        if (c.mlpBias()) {
          tensors.add(hf.apply("ffn_" + f[0] + ".bias", "mlp." + f[1] + "_proj.bias"));
        }
      }
    }
    tensors.add(
        new Out(
            "output_norm.weight", shapes.get("norm.weight"), () -> w.get("norm.weight").data()));
    tensors.add(new Out("output.weight", head, () -> w.lmHead().data()));
  }

  /**
   * Refuses a config llama.cpp's graph for {@code arch} has no tensor or shape for: its loader
   * would stop at "wrong number of tensors" or a shape mismatch, or compute another model.
   */
  private static void refuseWhatLlamaCppCannotLoad(ModelDir dir, LlamaConfig c, String arch) {
    String at = dir.dir().resolve(ModelDir.CONFIG) + ": ";
    if (c.ropeScaling() != null && !arch.equals("llama")) {
      throw new ModelFormatException(
          at
              + "rope_scaling (llama3) on a "
              + c.modelType()
              + " model: llama.cpp's "
              + arch
              + " graph reads no rope_freqs, so the file would not be this model");
    }
    if (arch.equals("qwen3") && c.attentionBias()) {
      throw new ModelFormatException(
          at + "attention_bias on qwen3: llama.cpp's qwen3 graph has no q/k/v/o biases");
    }
    boolean square = (long) c.heads() * c.headDim() == c.hiddenSize();
    if (!square && (arch.equals("qwen2") || c.qkvBias() || c.outputBias())) {
      throw new ModelFormatException(
          at
              + "heads × head_dim ("
              + (long) c.heads() * c.headDim()
              + ") differs from hidden_size ("
              + c.hiddenSize()
              + "); llama.cpp's "
              + arch
              + " graph sizes "
              + (arch.equals("qwen2") ? "q" : "the attention biases")
              + " by hidden_size");
    }
  }

  /**
   * {@code rope_freqs.weight}: what llama.cpp divides each RoPE frequency by, for Llama 3.1's
   * scaling (1 for the high frequencies, the factor for the low, interpolated between), as its
   * converter computes them.
   */
  private static Out ropeFactors(LlamaConfig c) {
    LlamaConfig.Llama3Scaling s = c.ropeScaling();
    int half = c.headDim() / 2;
    float[] f = new float[half];
    double low = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
    double high = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
    for (int i = 0; i < half; i++) {
      double freq = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim());
      double wavelen = 2 * Math.PI / freq;
      if (wavelen < high) {
        f[i] = 1;
      } else if (wavelen > low) {
        f[i] = (float) s.factor();
      } else {
        double smooth =
            (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                / (s.highFreqFactor() - s.lowFreqFactor());
        f[i] = (float) (1 / ((1 - smooth) / s.factor() + smooth));
      }
    }
    return new Out("rope_freqs.weight", new long[] {half}, () -> f);
  }

  /**
   * A q or k projection (weight [heads·d, in] or bias [heads·d]) with each head's rows in
   * llama.cpp's order when {@code permute}: row {@code a·d/2 + j} of a head (half a, pair j) goes
   * to {@code 2j + a}, the interleaved pairs its rotary embedding rotates.
   */
  private static Out rows(Out t, boolean permute, int heads, int d) {
    if (!permute) {
      return t;
    }
    return new Out(
        t.name(),
        t.shape(),
        () -> {
          float[] x = t.data().get();
          int rows = (int) t.shape()[0];
          int width = t.shape().length == 2 ? (int) t.shape()[1] : 1;
          if (rows != heads * d) {
            throw new ModelFormatException(
                t.name() + ": " + rows + " rows, not heads × head_dim = " + heads * d);
          }
          float[] out = new float[x.length];
          for (int h = 0; h < heads; h++) {
            for (int a = 0; a < 2; a++) {
              for (int j = 0; j < d / 2; j++) {
                int from = h * d + a * (d / 2) + j;
                int to = h * d + 2 * j + a;
                System.arraycopy(x, from * width, out, to * width, width);
              }
            }
          }
          return out;
        });
  }
}
