package io.tokendrift.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GGUF export read back by a reader written here from ggml's gguf.md, independently of the
 * writer: header, metadata, tensor infos, alignment and every tensor's values against the model's
 * own (Conv1D weights transposed). LlamaCppTest has llama.cpp itself load it.
 */
class GgufExportTest {
  @TempDir Path dir;

  /** One tensor as the file describes it: dims innermost first, type, offset in the data. */
  record Info(long[] ne, int type, long offset) {}

  @Test
  void theBundledModelReadsBackAsGpt2WithEveryValueInItsPlace() throws Exception {
    ModelDir model = BundledModel.open();
    Path f = dir.resolve("tiny.gguf");
    GgufWriter.write(model, f, Map.of("tokendrift.note", "x"));
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
    byte[] magic = new byte[4];
    b.get(magic);
    assertThat(new String(magic, StandardCharsets.US_ASCII)).isEqualTo("GGUF");
    assertThat(b.getInt()).isEqualTo(3);
    Read r = read(f);
    Map<String, Object> kv = r.kv();
    b = r.b();
    Gpt2Config c = model.gpt2();
    assertThat(kv)
        .containsEntry("general.architecture", "gpt2")
        .containsEntry("gpt2.block_count", (long) c.layers())
        .containsEntry("gpt2.embedding_length", (long) c.width())
        .containsEntry("gpt2.attention.head_count", (long) c.heads())
        .containsEntry("tokenizer.ggml.model", "gpt2")
        .containsEntry("tokenizer.ggml.pre", "gpt-2")
        .containsEntry("tokenizer.ggml.eos_token_id", (long) c.eosTokenId())
        .containsEntry("tokenizer.ggml.add_bos_token", false)
        .containsEntry("tokendrift.note", "x");
    @SuppressWarnings("unchecked")
    List<Object> tokens = (List<Object>) kv.get("tokenizer.ggml.tokens");
    assertThat(tokens).hasSize(c.vocabSize());
    try (TextTokenizer tok = model.tokenizer()) {
      int[] ids = tok.encode(" Paris");
      assertThat(tokens.get(ids[0])).isEqualTo("ĠParis"); // byte-level: a space is Ġ
    }
    Map<String, Info> infos = r.infos();
    long alignment = (Long) kv.getOrDefault("general.alignment", 32L);
    long start = r.start();
    assertThat(infos).hasSize(4 + 12 * c.layers() + 1);
    assertThat(infos.keySet()).doesNotContain("blk.0.attn.bias"); // the mask buffer is not a weight
    Gpt2Weights w = model.weights();
    // wte [V, C] is ne [C, V]: the same values in the same order.
    Info wte = infos.get("token_embd.weight");
    assertThat(wte.ne()).containsExactly(c.width(), c.vocabSize());
    assertThat(floats(b, start, wte, 5)).containsExactly(head(w.get("wte.weight").data(), 5));
    // c_attn [C, 3C] (Conv1D: in, out) becomes attn_qkv with ne [C, 3C]: element (o, i) at o*C + i.
    Info qkv = infos.get("blk.1.attn_qkv.weight");
    assertThat(qkv.ne()).containsExactly(c.width(), 3L * c.width());
    assertThat(qkv.offset() % alignment).isZero();
    float[] conv = w.get("h.1.attn.c_attn.weight").data();
    float[] got = floats(b, start, qkv, c.width() * 3 * c.width());
    int in = c.width();
    int out = 3 * c.width();
    for (int[] at : new int[][] {{0, 0}, {7, 3}, {out - 1, in - 1}, {200, 100}}) {
      assertThat(got[at[0] * in + at[1]]).isEqualTo(conv[at[1] * out + at[0]]);
    }
    assertThat(infos.get("output.weight").ne()).containsExactly(c.width(), c.vocabSize());
    assertThat(floats(b, start, infos.get("output.weight"), 3))
        .containsExactly(head(w.lmHead().data(), 3));
  }

  private static float[] head(float[] a, int n) {
    return java.util.Arrays.copyOf(a, n);
  }

  private static float[] floats(ByteBuffer b, long start, Info t, int n) {
    assertThat(t.type()).isZero(); // F32
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = b.getFloat((int) (start + t.offset() + 4L * i));
    }
    return out;
  }

  private static String string(ByteBuffer b) {
    byte[] s = new byte[(int) b.getLong()];
    b.get(s);
    return new String(s, StandardCharsets.UTF_8);
  }

  private static Object value(ByteBuffer b, int type) {
    return switch (type) {
      case 4 -> (long) b.getInt();
      case 5 -> (long) b.getInt();
      case 6 -> b.getFloat();
      case 7 -> b.get() != 0;
      case 8 -> string(b);
      case 9 -> {
        int of = b.getInt();
        long n = b.getLong();
        List<Object> l = new ArrayList<>();
        for (long i = 0; i < n; i++) {
          l.add(value(b, of));
        }
        yield l;
      }
      case 10 -> b.getLong();
      default -> throw new AssertionError("value type " + type);
    };
  }

  /** A GGUF file read back: its metadata and its tensors' infos, and where their data starts. */
  record Read(ByteBuffer b, Map<String, Object> kv, Map<String, Info> infos, long start) {}

  static Read read(Path f) throws Exception {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
    b.position(8);
    long tensors = b.getLong();
    long kvs = b.getLong();
    Map<String, Object> kv = new LinkedHashMap<>();
    for (long i = 0; i < kvs; i++) {
      String key = string(b);
      kv.put(key, value(b, b.getInt()));
    }
    Map<String, Info> infos = new LinkedHashMap<>();
    for (long i = 0; i < tensors; i++) {
      String name = string(b);
      int n = b.getInt();
      long[] ne = new long[n];
      for (int d = 0; d < n; d++) {
        ne[d] = b.getLong();
      }
      infos.put(name, new Info(ne, b.getInt(), b.getLong()));
    }
    long start = (b.position() + 31) / 32 * 32;
    return new Read(b, kv, infos, start);
  }

  @Test
  void aLlamaFolderReadsBackWithQkRowsInLlamaCppsOrderAndItsRopeFactors() throws Exception {
    LlamaConfig c = LlamaCheckpoints.LLAMA3_SCALED; // 4 heads, 2 kv heads, head_dim 8, biases
    Path folder = LlamaCheckpoints.write(dir.resolve("l3"), c, 5);
    LlamaCheckpoints.copyBundledTokenizer(folder, c);
    ModelDir model = ModelDir.open(folder);
    Path f = dir.resolve("l3.gguf");
    GgufWriter.write(model, f, Map.of());
    Read r = read(f);
    assertThat(r.kv())
        .containsEntry("general.architecture", "llama")
        .containsEntry("llama.block_count", (long) c.layers())
        .containsEntry("llama.attention.head_count", 4L)
        .containsEntry("llama.attention.head_count_kv", 2L)
        .containsEntry("llama.rope.dimension_count", 8L)
        .containsEntry("llama.rope.freq_base", (float) c.ropeTheta())
        .containsEntry("tokenizer.ggml.pre", "gpt-2");
    LlamaWeights w = model.llamaWeights();
    int d = c.headDim();
    int h = c.hiddenSize();
    // attn_k [kv·d, H]: row 2j + a of head g is Hugging Face's row a·d/2 + j (rotate-half layout
    // to llama.cpp's interleaved pairs), checked at every row of layer 1.
    float[] hfK = w.get(LlamaWeights.layer(1, "self_attn.k_proj.weight")).data();
    float[] k = floats(r.b(), r.start(), r.infos().get("blk.1.attn_k.weight"), 2 * d * h);
    float[] hfKb = w.get(LlamaWeights.layer(1, "self_attn.k_proj.bias")).data();
    float[] kb = floats(r.b(), r.start(), r.infos().get("blk.1.attn_k.bias"), 2 * d);
    for (int g = 0; g < 2; g++) {
      for (int a = 0; a < 2; a++) {
        for (int j = 0; j < d / 2; j++) {
          int to = g * d + 2 * j + a;
          int from = g * d + a * d / 2 + j;
          for (int i = 0; i < h; i++) {
            assertThat(k[to * h + i]).isEqualTo(hfK[from * h + i]);
          }
          assertThat(kb[to]).isEqualTo(hfKb[from]);
        }
      }
    }
    // v is not rotated: as it is.
    assertThat(floats(r.b(), r.start(), r.infos().get("blk.0.attn_v.weight"), 2 * d * h))
        .containsExactly(w.get(LlamaWeights.layer(0, "self_attn.v_proj.weight")).data());
    // rope_freqs: what llama.cpp divides each frequency by, i.e. unscaled / scaled (the scaled ones
    // as transformers computes them, from LlamaConfig): 1, interpolated, the factor 8.
    float[] factors = floats(r.b(), r.start(), r.infos().get("rope_freqs.weight"), d / 2);
    float[] scaled = c.ropeInverseFrequencies();
    for (int i = 0; i < d / 2; i++) {
      double unscaled = 1 / Math.pow(c.ropeTheta(), 2.0 * i / d);
      assertThat((double) factors[i]).isCloseTo(unscaled / scaled[i], within(1e-5 * factors[i]));
    }
    assertThat(factors[0]).isEqualTo(1f);
    assertThat(factors[d / 2 - 1]).isEqualTo(8f);
    assertThat(r.infos()).containsKeys("blk.0.ffn_gate.bias", "blk.0.attn_output.bias");

    // Qwen2 rotates halves (NEOX) in llama.cpp: its q rows stay as they are.
    LlamaConfig q = LlamaCheckpoints.QWEN2;
    Path qf = LlamaCheckpoints.write(dir.resolve("q2"), q, 6);
    LlamaCheckpoints.copyBundledTokenizer(qf, q);
    ModelDir qm = ModelDir.open(qf);
    GgufWriter.write(qm, dir.resolve("q2.gguf"), Map.of());
    Read qr = read(dir.resolve("q2.gguf"));
    assertThat(qr.kv()).containsEntry("general.architecture", "qwen2");
    assertThat(
            floats(
                qr.b(),
                qr.start(),
                qr.infos().get("blk.0.attn_q.weight"),
                q.heads() * q.headDim() * q.hiddenSize()))
        .containsExactly(
            qm.llamaWeights().get(LlamaWeights.layer(0, "self_attn.q_proj.weight")).data());
    // A tied head is written out (llama.cpp needs no fallback).
    assertThat(qr.infos().get("output.weight").ne()).containsExactly(q.hiddenSize(), q.vocabSize());
  }

  @Test
  void configsLlamaCppsGraphCannotHoldAreRefusedNamingWhy() throws Exception {
    LlamaConfig scaledQwen =
        LlamaCheckpoints.config(
            LlamaConfig.Family.QWEN2,
            32,
            4,
            2,
            8,
            500_000,
            new LlamaConfig.Llama3Scaling(8, 1, 4, 256),
            true,
            false,
            false,
            null);
    Path a = LlamaCheckpoints.write(dir.resolve("sq"), scaledQwen, 1);
    LlamaCheckpoints.copyBundledTokenizer(a, scaledQwen);
    assertThatThrownBy(() -> GgufWriter.write(ModelDir.open(a), dir.resolve("a.gguf"), Map.of()))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("rope_scaling (llama3) on a qwen2 model: llama.cpp's qwen2 graph");
    // Qwen3's head_dim 16 x 4 heads = 64 is not hidden 32: fine for qwen3 (key_length says so),
    // not for qwen2, whose q llama.cpp sizes by hidden_size.
    LlamaConfig wideQwen2 =
        LlamaCheckpoints.config(
            LlamaConfig.Family.QWEN2, 32, 4, 2, 16, 1_000_000, null, true, false, false, null);
    Path b = LlamaCheckpoints.write(dir.resolve("wq"), wideQwen2, 1);
    LlamaCheckpoints.copyBundledTokenizer(b, wideQwen2);
    assertThatThrownBy(() -> GgufWriter.write(ModelDir.open(b), dir.resolve("b.gguf"), Map.of()))
        .hasMessageContaining("heads × head_dim (64) differs from hidden_size (32)");
    assertThat(dir.resolve("a.gguf")).doesNotExist();
    assertThat(dir.resolve("b.gguf")).doesNotExist();
  }

  @Test
  void tokenizersLlamaCppWouldSplitOtherwiseAreRefused() throws Exception {
    LlamaConfig c = LlamaCheckpoints.LLAMA_GQA;
    Path folder = LlamaCheckpoints.write(dir.resolve("sp"), c, 5);
    LlamaCheckpoints.copyBundledTokenizer(folder, c);
    Path tok = folder.resolve("tokenizer.json");
    com.fasterxml.jackson.databind.ObjectMapper m =
        new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode root =
        (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(tok.toFile());
    ((com.fasterxml.jackson.databind.node.ObjectNode) root.get("model")).put("byte_fallback", true);
    m.writeValue(tok.toFile(), root);
    assertThatThrownBy(
            () -> GgufWriter.write(ModelDir.open(folder), dir.resolve("x.gguf"), Map.of()))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("SentencePiece-style BPE with byte fallback");
    ((com.fasterxml.jackson.databind.node.ObjectNode) root.get("model"))
        .put("byte_fallback", false);
    root.set(
        "pre_tokenizer",
        m.readTree(
            "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\","
                + "\"pattern\":{\"Regex\":\"\\\\d+\"},\"behavior\":\"Isolated\"}]}"));
    m.writeValue(tok.toFile(), root);
    assertThatThrownBy(
            () -> GgufWriter.write(ModelDir.open(folder), dir.resolve("x.gguf"), Map.of()))
        .hasMessageContaining("pre_tokenizer splits by the pattern \\d+")
        .hasMessageContaining("GPT-2's, Llama 3's and Qwen2's");
    assertThat(dir.resolve("x.gguf")).doesNotExist();
  }

  @Test
  void llama3AndQwenSplitsAreNamedAsLlamaCppNamesThemAndAPaddedVocabularyIsFilled()
      throws Exception {
    // The Split patterns as Meta-Llama-3's and Qwen2.5's tokenizer.json spell them.
    String llama3 =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    String qwen2 = llama3.replace("\\p{N}{1,3}", "\\p{N}");
    // Qwen2 with a vocabulary padded past its tokenizer's (1216 > 1213 + 1 added), as Qwen pads.
    LlamaConfig c =
        new LlamaConfig(
            LlamaConfig.Family.QWEN2,
            1216,
            32,
            64,
            2,
            4,
            2,
            8,
            1e-6,
            1_000_000,
            null,
            128,
            true,
            false,
            false,
            null,
            -1,
            List.of(LlamaCheckpoints.EOS));
    for (String[] split : new String[][] {{llama3, "llama-bpe"}, {qwen2, "qwen2"}}) {
      Path folder = LlamaCheckpoints.write(dir.resolve(split[1]), c, 5);
      LlamaCheckpoints.copyBundledTokenizer(folder, c);
      Path tok = folder.resolve("tokenizer.json");
      com.fasterxml.jackson.databind.ObjectMapper m =
          new com.fasterxml.jackson.databind.ObjectMapper();
      com.fasterxml.jackson.databind.node.ObjectNode root =
          (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(tok.toFile());
      com.fasterxml.jackson.databind.node.ObjectNode pre = m.createObjectNode();
      pre.put("type", "Sequence");
      com.fasterxml.jackson.databind.node.ObjectNode sp = pre.putArray("pretokenizers").addObject();
      sp.put("type", "Split");
      sp.putObject("pattern").put("Regex", split[0]);
      sp.put("behavior", "Isolated");
      pre.withArray("pretokenizers").addObject().put("type", "ByteLevel");
      root.set("pre_tokenizer", pre);
      // One added token that is not special: llama.cpp's type 4 (user-defined).
      com.fasterxml.jackson.databind.node.ObjectNode added =
          ((com.fasterxml.jackson.databind.node.ArrayNode) root.get("added_tokens")).addObject();
      added.put("id", 1213);
      added.put("content", "<tool>");
      added.put("special", false);
      m.writeValue(tok.toFile(), root);
      Path f = dir.resolve(split[1] + ".gguf");
      GgufWriter.write(ModelDir.open(folder), f, Map.of());
      Read r = read(f);
      assertThat(r.kv()).containsEntry("tokenizer.ggml.pre", split[1]);
      @SuppressWarnings("unchecked")
      List<Object> tokens = (List<Object>) r.kv().get("tokenizer.ggml.tokens");
      @SuppressWarnings("unchecked")
      List<Object> types = (List<Object>) r.kv().get("tokenizer.ggml.token_type");
      // The config's vocabulary (1216) is larger than the tokenizer's 1214: the
      // ids no token has are [PADn], unused (5), as llama.cpp's converter writes them.
      assertThat(tokens).hasSize(c.vocabSize());
      assertThat(tokens.get(1213)).isEqualTo("<tool>");
      assertThat(types.get(1213)).isEqualTo(4L);
      assertThat(types.get(1212)).isEqualTo(3L); // <|endoftext|>, special: control
      for (int i = 1214; i < c.vocabSize(); i++) {
        assertThat(tokens.get(i)).isEqualTo("[PAD" + i + "]");
        assertThat(types.get(i)).isEqualTo(5L);
      }
    }
  }

  @Test
  void halvesRoundToNearestEvenAndAnF16FileKeepsVectorsInFloat32() throws Exception {
    // Every binary16 value comes back exactly (exhaustive over the 63,488 finite halves).
    for (int h = 0; h < 0x10000; h++) {
      float f = Half.toFloat((short) h);
      if (Float.isFinite(f)) {
        assertThat(Half.fromFloat(f) & 0xFFFF).as("half 0x%04x", h).isEqualTo(h);
      }
    }
    // Between two halves: to the nearer, and on a tie to the even one (1 + 2^-11 is halfway
    // between 1 and 1 + 2^-10).
    assertThat(Half.fromFloat(1f + 0x1p-11f) & 0xFFFF).isEqualTo(0x3C00);
    assertThat(Half.fromFloat(1f + 3 * 0x1p-11f) & 0xFFFF).isEqualTo(0x3C02);
    assertThat(Half.fromFloat(1f + 0x1p-11f + 0x1p-20f) & 0xFFFF).isEqualTo(0x3C01);
    assertThat(Half.fromFloat(70000f) & 0xFFFF).isEqualTo(0x7C00); // beyond 65504: infinity
    assertThat(Half.fromFloat(0x1p-25f) & 0xFFFF).isZero(); // half the smallest subnormal: even 0

    ModelDir model = BundledModel.open();
    Path f32 = dir.resolve("a.gguf");
    Path f16 = dir.resolve("b.gguf");
    GgufWriter.write(model, f32, Map.of());
    GgufWriter.write(model, f16, Map.of(), true);
    long matrices = 0;
    for (var e : Gpt2Weights.expectedShapes(model.gpt2())) {
      if (e.getValue().length == 2) {
        matrices += Tensor.elementCount(e.getValue());
      }
    }
    matrices += (long) model.gpt2().vocabSize() * model.gpt2().width(); // output.weight
    // Two bytes saved per matrix element, give or take the alignment padding.
    assertThat(Files.size(f32) - Files.size(f16)).isBetween(2 * matrices - 4096, 2 * matrices);
  }
}
