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
 * Writes a GPT-2 model folder as GGUF (version 3, float32 or binary16 matrices), the file llama.cpp
 * and everything built on it (llama-server, Ollama, LM Studio) loads: architecture {@code gpt2},
 * llama.cpp's tensor names, Hugging Face's Conv1D weights ([in, out]) transposed to [out, in] as
 * llama.cpp's GPT-2 converter does, {@code attn.bias} (the causal mask buffer) left out, an untied
 * LM head as {@code output.weight}, and the byte-level BPE tokenizer ({@code tokenizer.ggml.model =
 * gpt2}, {@code pre = gpt-2}). Extra string metadata (the bundled model's planted micro-ties)
 * travels under {@code tokendrift.*} keys.
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

  private record Out(String name, long[] shape, float[] data) {}

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
    if (!(dir.config() instanceof Gpt2Config c)) {
      throw new ModelFormatException(
          dir.dir()
              + ": GGUF export writes GPT-2 folders (model_type gpt2); this one is "
              + dir.config().modelType());
    }
    if (!c.tanhGelu()) {
      throw new ModelFormatException(
          dir.dir()
              + ": activation_function is the erf GELU; llama.cpp's gpt2 graph computes the tanh"
              + " form (gelu_new), so the file would not be this model");
    }
    Gpt2Weights w = dir.weights();
    List<Kv> kv = new ArrayList<>();
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
    tokenizer(dir.dir().resolve(ModelDir.TOKENIZER), c, kv);
    extra.forEach((k, v) -> kv.add(new Kv(k, TYPE_STRING, v)));

    List<Out> tensors = new ArrayList<>();
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
          offset = align(offset + (half ? 2L : 4L) * t.data().length);
        }
        s.pad();
        for (Out t : tensors) {
          boolean half = f16 && t.shape().length == 2;
          ByteBuffer b =
              ByteBuffer.allocate((half ? 2 : 4) * t.data().length).order(ByteOrder.LITTLE_ENDIAN);
          if (half) {
            for (float v : t.data()) {
              b.putShort(Half.fromFloat(v));
            }
          } else {
            b.asFloatBuffer().put(t.data());
          }
          s.bytes(b.array());
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

  /** The byte-level BPE tokenizer: tokens by id, their types, the merges, the special ids. */
  private static void tokenizer(Path file, Gpt2Config c, List<Kv> kv) throws IOException {
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    JsonNode model = root.path("model");
    if (!"BPE".equals(model.path("type").asText())) {
      throw new ModelFormatException(file + ": GGUF export writes byte-level BPE tokenizers");
    }
    String[] tokens = new String[c.vocabSize()];
    model
        .path("vocab")
        .fields()
        .forEachRemaining(e -> put(tokens, e.getValue().asInt(), e.getKey(), file));
    int[] types = new int[tokens.length];
    java.util.Arrays.fill(types, 1); // normal
    for (JsonNode a : root.path("added_tokens")) {
      put(tokens, a.path("id").asInt(), a.path("content").asText(), file);
      if (a.path("special").asBoolean()) {
        types[a.path("id").asInt()] = 3; // control
      }
    }
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i] == null) {
        throw new ModelFormatException(file + ": no token has id " + i);
      }
    }
    List<String> merges = new ArrayList<>();
    for (JsonNode m : model.path("merges")) {
      merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
    }
    kv.add(new Kv("tokenizer.ggml.model", TYPE_STRING, "gpt2"));
    kv.add(new Kv("tokenizer.ggml.pre", TYPE_STRING, "gpt-2"));
    kv.add(new Kv("tokenizer.ggml.tokens", TYPE_ARRAY, List.of(tokens)));
    kv.add(new Kv("tokenizer.ggml.token_type", TYPE_ARRAY, types));
    kv.add(new Kv("tokenizer.ggml.merges", TYPE_ARRAY, merges));
    if (c.eosTokenId() >= 0) {
      kv.add(new Kv("tokenizer.ggml.bos_token_id", TYPE_UINT32, c.eosTokenId()));
      kv.add(new Kv("tokenizer.ggml.eos_token_id", TYPE_UINT32, c.eosTokenId()));
    }
    // GPT-2 prompts start with their own text: no BOS or EOS added, as Hugging Face does.
    kv.add(new Kv("tokenizer.ggml.add_bos_token", TYPE_BOOL, false));
    kv.add(new Kv("tokenizer.ggml.add_eos_token", TYPE_BOOL, false));
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
    return new Out(name, t.shape(), t.data());
  }

  /** A Conv1D weight [in, out] as the Linear weight [out, in] llama.cpp's graph multiplies with. */
  private static Out transposed(String name, Tensor t) {
    int in = (int) t.shape()[0];
    int out = (int) t.shape()[1];
    float[] d = new float[in * out];
    for (int i = 0; i < in; i++) {
      for (int o = 0; o < out; o++) {
        d[o * in + i] = t.data()[i * out + o];
      }
    }
    return new Out(name, new long[] {out, in}, d);
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
