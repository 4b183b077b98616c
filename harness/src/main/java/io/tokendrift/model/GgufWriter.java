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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a model folder as GGUF (version 3, float32 or binary16 matrices), the file llama.cpp and
 * everything built on it (llama-server, Ollama, LM Studio) loads. GPT-2: architecture {@code gpt2},
 * llama.cpp's tensor names, Hugging Face's Conv1D weights ([in, out]) transposed to [out, in] as
 * llama.cpp's GPT-2 converter does, {@code attn.bias} (the causal mask buffer) left out, an untied
 * LM head as {@code output.weight}. Llama family: see {@link #architecture} and the q/k row order
 * ({@code llama}). Both with a byte-level BPE tokenizer ({@code tokenizer.ggml.model = gpt2},
 * {@code pre} naming its split). Extra string metadata (the bundled model's planted micro-ties)
 * travels under {@code tokendrift.*} keys. Tensors are read (and converted) one at a time as they
 * are written.
 *
 * <p>Format: little-endian; header (magic {@code GGUF}, version, tensor count, key-value count),
 * the key-value pairs, the tensor infos (name, dimensions innermost first, type, offset), padding
 * to {@link #ALIGNMENT}, then each tensor's data at an aligned offset (ggml's {@code gguf.md}).
 */
public final class GgufWriter {
  /** {@code general.alignment}'s default: where every tensor's data starts. */
  public static final int ALIGNMENT = GgufFile.ALIGNMENT;

  private GgufWriter() {}

  /**
   * Writes {@code dir} (a GPT-2 folder) to {@code out} (replacing nothing: the file is written
   * beside it and moved into place).
   *
   * @param extra metadata strings to add under their own keys (e.g. {@code tokendrift.near_ties})
   */
  public static void write(ModelDir dir, Path out, Map<String, String> extra) throws IOException {
    write(dir, out, extra, false);
  }

  /**
   * As {@link #write(ModelDir, Path, Map)}; with {@code f16}, every matrix is stored as binary16
   * (rounded to nearest even) and the vectors (norms, biases) stay float32, as llama.cpp's own
   * converter does.
   */
  public static void write(ModelDir dir, Path out, Map<String, String> extra, boolean f16)
      throws IOException {
    List<Kv> kv = new ArrayList<>();
    List<Out> tensors = new ArrayList<>();
    if (dir.config() instanceof Gpt2Config c) {
      gpt2(dir, c, kv, tensors, f16);
    } else if (dir.config() instanceof LlamaConfig c) {
      GgufLlama.llama(dir, c, kv, tensors, f16);
    } else {
      throw new ModelFormatException(
          dir.dir()
              + ": GGUF export writes GPT-2 and Llama-family folders; this one is "
              + dir.config().modelType());
    }
    extra.forEach((k, v) -> kv.add(new Kv(k, TYPE_STRING, v)));
    GgufFile.write(out, kv, tensors, f16);
  }

  /**
   * llama.cpp's architecture for a model config: {@code gpt2}; {@code llama} for Llama and Mistral
   * (as its converter writes Mistral); {@code qwen2}, {@code qwen3}.
   */
  public static String architecture(ModelConfig config) {
    if (config instanceof LlamaConfig c) {
      return switch (c.family()) {
        case LLAMA, MISTRAL -> "llama";
        case QWEN2 -> "qwen2";
        case QWEN3 -> "qwen3";
      };
    }
    return "gpt2";
  }

  private static void gpt2(ModelDir dir, Gpt2Config c, List<Kv> kv, List<Out> tensors, boolean f16)
      throws IOException {
    if (!c.tanhGelu()) {
      throw new ModelFormatException(
          dir.dir()
              + ": activation_function is the erf GELU; llama.cpp's gpt2 graph computes the tanh"
              + " form (gelu_new), so the file would not be this model");
    }
    Gpt2Weights w = dir.weights();
    kv.add(new Kv("general.architecture", TYPE_STRING, "gpt2"));
    kv.add(new Kv("general.name", TYPE_STRING, String.valueOf(dir.dir().getFileName())));
    kv.add(
        new Kv("general.file_type", TYPE_UINT32, f16 ? FILE_TYPE_MOSTLY_F16 : FILE_TYPE_ALL_F32));
    kv.add(new Kv("general.alignment", TYPE_UINT32, ALIGNMENT));
    kv.add(new Kv("gpt2.context_length", TYPE_UINT32, c.contextLength()));
    kv.add(new Kv("gpt2.embedding_length", TYPE_UINT32, c.width()));
    kv.add(new Kv("gpt2.feed_forward_length", TYPE_UINT32, c.inner()));
    kv.add(new Kv("gpt2.block_count", TYPE_UINT32, c.layers()));
    kv.add(new Kv("gpt2.attention.head_count", TYPE_UINT32, c.heads()));
    kv.add(new Kv("gpt2.attention.layer_norm_epsilon", TYPE_FLOAT32, (float) c.layerNormEpsilon()));
    GgufTokenizer.write(dir.dir().resolve(ModelDir.TOKENIZER), c.vocabSize(), "gpt-2", kv);
    if (c.eosTokenId() >= 0) {
      kv.add(new Kv("tokenizer.ggml.bos_token_id", TYPE_UINT32, c.eosTokenId()));
      kv.add(new Kv("tokenizer.ggml.eos_token_id", TYPE_UINT32, c.eosTokenId()));
    }
    // GPT-2 prompts start with their own text: no BOS or EOS added, as Hugging Face does.
    kv.add(new Kv("tokenizer.ggml.add_bos_token", TYPE_BOOL, false));
    kv.add(new Kv("tokenizer.ggml.add_eos_token", TYPE_BOOL, false));

    tensors.add(plain("token_embd.weight", w.get("wte.weight")));
    tensors.add(plain("position_embd.weight", w.get("wpe.weight")));
    for (int i = 0; i < c.layers(); i++) {
      String h = "h." + i + ".";
      String b = "blk." + i + ".";
      tensors.add(plain(b + "attn_norm.weight", w.get(h + "ln_1.weight")));
      tensors.add(plain(b + "attn_norm.bias", w.get(h + "ln_1.bias")));
      tensors.add(transposed(b + "attn_qkv.weight", w.get(h + "attn.c_attn.weight")));
      tensors.add(plain(b + "attn_qkv.bias", w.get(h + "attn.c_attn.bias")));
      tensors.add(transposed(b + "attn_output.weight", w.get(h + "attn.c_proj.weight")));
      tensors.add(plain(b + "attn_output.bias", w.get(h + "attn.c_proj.bias")));
      tensors.add(plain(b + "ffn_norm.weight", w.get(h + "ln_2.weight")));
      tensors.add(plain(b + "ffn_norm.bias", w.get(h + "ln_2.bias")));
      tensors.add(transposed(b + "ffn_up.weight", w.get(h + "mlp.c_fc.weight")));
      tensors.add(plain(b + "ffn_up.bias", w.get(h + "mlp.c_fc.bias")));
      tensors.add(transposed(b + "ffn_down.weight", w.get(h + "mlp.c_proj.weight")));
      tensors.add(plain(b + "ffn_down.bias", w.get(h + "mlp.c_proj.bias")));
    }
    tensors.add(plain("output_norm.weight", w.get("ln_f.weight")));
    tensors.add(plain("output_norm.bias", w.get("ln_f.bias")));
    tensors.add(plain("output.weight", w.lmHead()));
  }

  private static Out plain(String name, Tensor t) {
    return new Out(name, t.shape(), t::data);
  }

  /** A Conv1D weight [in, out] as the Linear weight [out, in] llama.cpp's graph multiplies with. */
  private static Out transposed(String name, Tensor t) {
    int in = (int) t.shape()[0];
    int out = (int) t.shape()[1];
    return new Out(
        name,
        new long[] {out, in},
        () -> {
          float[] d = new float[in * out];
          for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
              d[o * in + i] = t.data()[i * out + o];
            }
          }
          return d;
        });
  }
}
