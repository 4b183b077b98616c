package io.tokendrift.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
  public static final int ALIGNMENT = 32;

  static final int TYPE_UINT32 = 4;
  static final int TYPE_INT32 = 5;
  static final int TYPE_FLOAT32 = 6;
  static final int TYPE_BOOL = 7;
  static final int TYPE_STRING = 8;
  static final int TYPE_ARRAY = 9;

  /** ggml's tensor type of float32 data. */
  static final int GGML_F32 = 0;

  /** ggml's tensor type of binary16 data. */
  static final int GGML_F16 = 1;

  /** {@code general.file_type} of an all-float32 file. */
  static final int FILE_TYPE_ALL_F32 = 0;

  /** {@code general.file_type} of a file whose matrices are binary16. */
  static final int FILE_TYPE_MOSTLY_F16 = 1;

  private record Kv(String key, int type, Object value) {}

  /** A tensor to write: its shape now, its data when its turn comes. */
  private record Out(String name, long[] shape, java.util.function.Supplier<float[]> data) {
    long count() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

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
      llama(dir, c, kv, tensors, f16);
    } else {
      throw new ModelFormatException(
          dir.dir()
              + ": GGUF export writes GPT-2 and Llama-family folders; this one is "
              + dir.config().modelType());
    }
    extra.forEach((k, v) -> kv.add(new Kv(k, TYPE_STRING, v)));
    emit(out, kv, tensors, f16);
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
    tokenizer(dir.dir().resolve(ModelDir.TOKENIZER), c.vocabSize(), "gpt-2", kv);
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

  /**
   * A Llama-family folder as llama.cpp's converter writes it: {@code llama} (Llama and Mistral),
   * {@code qwen2} or {@code qwen3} architecture; for {@code llama}, the q and k rows of every head
   * permuted from Hugging Face's rotate-half layout to the interleaved pairs llama.cpp's LLAMA
   * graph rotates ({@code LlamaModel.permute}); Qwen's graphs rotate halves (NEOX) and take them as
   * they are. Llama 3.1's RoPE scaling travels as {@code rope_freqs.weight}, the divisor of each
   * frequency. The LM head is always written ({@code output.weight}, a copy of the embedding when
   * tied). Tensors are read one at a time from the checkpoint as they are written.
   */
  private static void llama(
      ModelDir dir, LlamaConfig c, List<Kv> kv, List<Out> tensors, boolean f16) throws IOException {
    LlamaWeights w = dir.llamaWeights();
    String arch = architecture(c);
    boolean permute = arch.equals("llama");
    refuseWhatLlamaCppCannotLoad(dir, c, arch);
    kv.add(new Kv("general.architecture", TYPE_STRING, arch));
    kv.add(new Kv("general.name", TYPE_STRING, String.valueOf(dir.dir().getFileName())));
    kv.add(
        new Kv("general.file_type", TYPE_UINT32, f16 ? FILE_TYPE_MOSTLY_F16 : FILE_TYPE_ALL_F32));
    kv.add(new Kv("general.alignment", TYPE_UINT32, ALIGNMENT));
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
    tokenizer(tok, c.vocabSize(), preTokenizer(tok), kv);
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

  private static void emit(Path out, List<Kv> kv, List<Out> tensors, boolean f16)
      throws IOException {
    Path tmp = Files.createTempFile(out.toAbsolutePath().getParent(), ".gguf-", ".part");
    try {
      try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
        Sink s = new Sink(os);
        s.bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        s.u32(3);
        s.u64(tensors.size());
        s.u64(kv.size());
        for (Kv e : kv) {
          s.string(e.key());
          s.u32(e.type());
          value(s, e.type(), e.value());
        }
        long offset = 0;
        for (Out t : tensors) {
          s.string(t.name());
          s.u32(t.shape().length);
          for (int d = t.shape().length - 1; d >= 0; d--) {
            s.u64(t.shape()[d]); // ggml: innermost dimension first
          }
          boolean half = f16 && t.shape().length == 2;
          s.u32(half ? GGML_F16 : GGML_F32);
          s.u64(offset);
          offset = align(offset + (half ? 2L : 4L) * t.count());
        }
        s.pad();
        for (Out t : tensors) {
          boolean half = f16 && t.shape().length == 2;
          float[] data = t.data().get();
          if (data.length != t.count()) {
            throw new ModelFormatException(
                t.name() + ": " + data.length + " values, its shape holds " + t.count());
          }
          // In chunks: a large embedding's bytes exceed one array (2^31 - 1).
          int chunk = 1 << 20;
          ByteBuffer b = ByteBuffer.allocate(4 * chunk).order(ByteOrder.LITTLE_ENDIAN);
          for (int from = 0; from < data.length; from += chunk) {
            int to = Math.min(data.length, from + chunk);
            b.clear();
            for (int i = from; i < to; i++) {
              if (half) {
                b.putShort(Half.fromFloat(data[i]));
              } else {
                b.putFloat(data[i]);
              }
            }
            s.bytes(java.util.Arrays.copyOf(b.array(), b.position()));
          }
          s.pad();
        }
      }
      try {
        // Readable by others, as any file a user writes (createTempFile makes it owner-only).
        Files.setPosixFilePermissions(
            tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * The byte-level BPE tokenizer: tokens by id (ids the file leaves out, as a vocabulary padded to
   * a round size, become {@code [PADn]} of type unused, as llama.cpp's converter writes them),
   * their types, the merges.
   *
   * @param pre llama.cpp's name of the pre-tokenizer's split ({@link #preTokenizer})
   */
  private static void tokenizer(Path file, int vocabSize, String pre, List<Kv> kv)
      throws IOException {
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    JsonNode model = root.path("model");
    if (!"BPE".equals(model.path("type").asText()) || model.path("byte_fallback").asBoolean()) {
      throw new ModelFormatException(
          file
              + ": GGUF export writes byte-level BPE tokenizers (GPT-2, Llama 3, Qwen); this one"
              + " is "
              + (model.path("byte_fallback").asBoolean()
                  ? "a SentencePiece-style BPE with byte fallback (Llama 2, Mistral v0.1)"
                  : "of type '" + model.path("type").asText() + "'"));
    }
    String[] tokens = new String[vocabSize];
    model
        .path("vocab")
        .fields()
        .forEachRemaining(e -> put(tokens, e.getValue().asInt(), e.getKey(), file));
    int[] types = new int[tokens.length];
    java.util.Arrays.fill(types, 1); // normal
    for (JsonNode a : root.path("added_tokens")) {
      put(tokens, a.path("id").asInt(), a.path("content").asText(), file);
      types[a.path("id").asInt()] = a.path("special").asBoolean() ? 3 : 4; // control, user-defined
    }
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i] == null) {
        tokens[i] = "[PAD" + i + "]";
        types[i] = 5; // unused
      }
    }
    List<String> merges = new ArrayList<>();
    for (JsonNode m : model.path("merges")) {
      merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
    }
    kv.add(new Kv("tokenizer.ggml.model", TYPE_STRING, "gpt2"));
    kv.add(new Kv("tokenizer.ggml.pre", TYPE_STRING, pre));
    kv.add(new Kv("tokenizer.ggml.tokens", TYPE_ARRAY, List.of(tokens)));
    kv.add(new Kv("tokenizer.ggml.token_type", TYPE_ARRAY, types));
    kv.add(new Kv("tokenizer.ggml.merges", TYPE_ARRAY, merges));
  }

  /** Llama 3's split before byte-level BPE (tokenizer.json's Split pattern). */
  static final String LLAMA3_SPLIT =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /** Qwen2's (and Qwen3's): Llama 3's with single digits. */
  static final String QWEN2_SPLIT =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /**
   * llama.cpp's name for the way {@code tokenizer.json} splits text before BPE ({@code
   * tokenizer.ggml.pre}): {@code gpt-2} for a bare ByteLevel pre-tokenizer (GPT-2's own regex),
   * {@code llama-bpe} for Llama 3's Split pattern, {@code qwen2} for Qwen's; any other is refused,
   * since llama.cpp would split it differently and tokenize prompts otherwise.
   */
  static String preTokenizer(Path file) throws IOException {
    JsonNode pre = new ObjectMapper().readTree(file.toFile()).path("pre_tokenizer");
    if ("ByteLevel".equals(pre.path("type").asText()) && pre.path("use_regex").asBoolean(true)) {
      return "gpt-2";
    }
    if ("Sequence".equals(pre.path("type").asText())) {
      for (JsonNode p : pre.path("pretokenizers")) {
        if ("Split".equals(p.path("type").asText())) {
          String regex = p.path("pattern").path("Regex").asText();
          if (regex.equals(LLAMA3_SPLIT)) {
            return "llama-bpe";
          }
          if (regex.equals(QWEN2_SPLIT)) {
            return "qwen2";
          }
          throw new ModelFormatException(
              file
                  + ": pre_tokenizer splits by the pattern "
                  + regex
                  + "; GGUF export knows GPT-2's, Llama 3's and Qwen2's (llama.cpp would split"
                  + " another pattern differently)");
        }
      }
    }
    throw new ModelFormatException(
        file
            + ": pre_tokenizer of type '"
            + pre.path("type").asText()
            + "'; GGUF export knows GPT-2's ByteLevel, and Llama 3's and Qwen2's Split patterns");
  }

  private static void put(String[] tokens, int id, String text, Path file) {
    if (id < 0 || id >= tokens.length) {
      throw new ModelFormatException(
          file
              + ": token '"
              + text
              + "' has id "
              + id
              + ", outside the vocabulary of "
              + tokens.length);
    }
    tokens[id] = text;
  }

  @SuppressWarnings("unchecked")
  private static void value(Sink s, int type, Object v) throws IOException {
    switch (type) {
      case TYPE_UINT32 -> s.u32((Integer) v);
      case TYPE_FLOAT32 -> s.f32((Float) v);
      case TYPE_BOOL -> s.bytes(new byte[] {(byte) ((Boolean) v ? 1 : 0)});
      case TYPE_STRING -> s.string((String) v);
      case TYPE_ARRAY -> {
        if (v instanceof int[] ints) {
          s.u32(TYPE_INT32);
          s.u64(ints.length);
          for (int x : ints) {
            s.u32(x);
          }
        } else {
          List<String> l = (List<String>) v;
          s.u32(TYPE_STRING);
          s.u64(l.size());
          for (String x : l) {
            s.string(x);
          }
        }
      }
      default -> throw new IllegalArgumentException("GGUF value type " + type);
    }
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

  static long align(long n) {
    return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  /** Little-endian primitives, counting bytes for the padding. */
  private static final class Sink {
    private final OutputStream os;
    private final ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    private long written;

    Sink(OutputStream os) {
      this.os = os;
    }

    void bytes(byte[] x) throws IOException {
      os.write(x);
      written += x.length;
    }

    void u32(long v) throws IOException {
      b.clear();
      b.putInt((int) v);
      bytes(java.util.Arrays.copyOf(b.array(), 4));
    }

    void u64(long v) throws IOException {
      b.clear();
      b.putLong(v);
      bytes(b.array().clone());
    }

    void f32(float v) throws IOException {
      b.clear();
      b.putFloat(v);
      bytes(java.util.Arrays.copyOf(b.array(), 4));
    }

    void string(String s) throws IOException {
      byte[] x = s.getBytes(StandardCharsets.UTF_8);
      u64(x.length);
      bytes(x);
    }

    void pad() throws IOException {
      long p = align(written) - written;
      if (p > 0) {
        bytes(new byte[(int) p]);
      }
    }
  }
}
