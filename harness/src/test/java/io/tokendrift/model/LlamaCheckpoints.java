package io.tokendrift.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.model.LlamaConfig.Family;
import io.tokendrift.model.LlamaConfig.Llama3Scaling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Seeded random Llama-family checkpoints for tests, written in Hugging Face layout: {@code
 * config.json} and {@code model.safetensors}, or shards {@code model-0000i-of-0000N.safetensors}
 * with {@code model.safetensors.index.json}, some tensors optionally stored as F16 or BF16.
 *
 * <p>Every preset has the bundled tokenizer's vocabulary (1213 tokens, EOS 1212), so any of them
 * can be given its {@code tokenizer.json} ({@link #copyBundledTokenizer}).
 */
public final class LlamaCheckpoints {
  private LlamaCheckpoints() {}

  /** The bundled tokenizer's vocabulary size. */
  public static final int VOCAB = 1213;

  /** The bundled tokenizer's end-of-text id. */
  public static final int EOS = 1212;

  /** Llama, grouped-query attention 4:1, untied head, theta 10,000. */
  public static final LlamaConfig LLAMA_GQA =
      config(Family.LLAMA, 32, 4, 1, 8, 10_000, null, false, false, false, null);

  /** Llama, multi-head attention (kv heads = heads), tied head. */
  public static final LlamaConfig LLAMA_MHA =
      config(Family.LLAMA, 32, 4, 4, 8, 10_000, null, true, false, false, null);

  /**
   * Llama 3.1-style RoPE scaling with biases everywhere (attention_bias, mlp_bias). With theta
   * 500,000 and head_dim 8 the four wavelengths are 6.3, 167, 4,443 and 118,000 tokens: against 256
   * / 4 = 64 and 256 / 1 = 256, one is kept, one interpolated, two divided by 8.
   */
  public static final LlamaConfig LLAMA3_SCALED =
      config(
          Family.LLAMA,
          32,
          4,
          2,
          8,
          500_000,
          new Llama3Scaling(8, 1, 4, 256),
          false,
          true,
          true,
          null);

  /** Mistral: GQA 2:1, a 64-token sliding window. */
  public static final LlamaConfig MISTRAL =
      config(Family.MISTRAL, 32, 4, 2, 8, 10_000, null, false, false, false, 64);

  /** Qwen2: q/k/v biases, tied head, theta 1,000,000, as Qwen2.5-0.5B. */
  public static final LlamaConfig QWEN2 =
      config(Family.QWEN2, 32, 4, 2, 8, 1_000_000, null, true, false, false, null);

  /**
   * Qwen3: q/k RMSNorm per head, head_dim 16 (not hidden / heads = 8, as Qwen3's head_dim 128 is
   * not 1024 / 16), tied head, theta 1,000,000.
   */
  public static final LlamaConfig QWEN3 =
      config(Family.QWEN3, 32, 4, 2, 16, 1_000_000, null, true, false, false, null);

  /** Every preset. */
  public static final List<LlamaConfig> ALL =
      List.of(LLAMA_GQA, LLAMA_MHA, LLAMA3_SCALED, MISTRAL, QWEN2, QWEN3);

  /** Every tensor F32. */
  public static final Function<String, String> F32 = name -> "F32";

  /** MLP weights BF16, attention weights F16, the rest F32: exercises both widenings. */
  public static final Function<String, String> MIXED =
      name -> name.contains(".mlp.") ? "BF16" : name.contains(".self_attn.") ? "F16" : "F32";

  /**
   * A 2-layer config of hidden size {@code hidden}, intermediate 64, context 128, vocabulary {@link
   * #VOCAB}, EOS {@link #EOS}.
   */
  public static LlamaConfig config(
      Family family,
      int hidden,
      int heads,
      int kvHeads,
      int headDim,
      double theta,
      Llama3Scaling scaling,
      boolean tied,
      boolean attentionBias,
      boolean mlpBias,
      Integer window) {
    return new LlamaConfig(
        family,
        VOCAB,
        hidden,
        64,
        2,
        heads,
        kvHeads,
        headDim,
        1e-6,
        theta,
        scaling,
        128,
        tied,
        attentionBias,
        mlpBias,
        window,
        family == Family.QWEN2 || family == Family.QWEN3 ? -1 : 1,
        List.of(EOS));
  }

  /**
   * Random tensors under their checkpoint names ({@code model.}-prefixed, {@code lm_head.weight}
   * when untied), each rounded to the dtype {@code dtypeOf} gives it, so they equal what a reader
   * gets back from the written files. Scales keep every stage near unit size, so logits are O(1)
   * and attention is far from uniform: embeddings N(0, 1); linear weights N(0, 1/in), outputs of
   * unit scale; norm gains N(1, 0.1²); biases N(0, 0.1²).
   */
  public static Map<String, Tensor> randomTensors(
      LlamaConfig c, long seed, Function<String, String> dtypeOf) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Map.Entry<String, long[]>> shapes = new ArrayList<>();
    for (Map.Entry<String, long[]> e : LlamaWeights.expectedShapes(c)) {
      shapes.add(Map.entry("model." + e.getKey(), e.getValue()));
    }
    if (!c.tiedHead()) {
      shapes.add(Map.entry(LlamaWeights.LM_HEAD, new long[] {c.vocabSize(), c.hiddenSize()}));
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : shapes) {
      String name = e.getKey();
      long[] shape = e.getValue();
      float[] v = new float[(int) Tensor.elementCount(shape)];
      boolean norm = name.endsWith("norm.weight");
      boolean bias = name.endsWith(".bias");
      double sd = name.endsWith("embed_tokens.weight") ? 1 : 1 / Math.sqrt(shape[shape.length - 1]);
      String dtype = dtypeOf.apply(name);
      for (int i = 0; i < v.length; i++) {
        double g = rnd.nextGaussian();
        float f = (float) (norm ? 1 + 0.1 * g : bias ? 0.1 * g : sd * g);
        v[i] =
            switch (dtype) {
              case "F32" -> f;
              case "F16" -> Safetensors.toF16Precision(f);
              case "BF16" -> Safetensors.toBf16Precision(f);
              default -> throw new IllegalArgumentException(name + ": dtype " + dtype);
            };
      }
      out.put(name, new Tensor(name, shape, v));
    }
    return out;
  }

  /** Random float32 weights in memory, checked as a read checkpoint would be. */
  public static LlamaWeights random(LlamaConfig c, long seed) {
    return random(c, seed, F32);
  }

  /** Random weights at the precision {@code dtypeOf} gives each tensor. */
  public static LlamaWeights random(LlamaConfig c, long seed, Function<String, String> dtypeOf) {
    return LlamaWeights.of(randomTensors(c, seed, dtypeOf), c, Path.of("<random>"));
  }

  /** Writes config.json and a single F32 model.safetensors into {@code dir}. */
  public static Path write(Path dir, LlamaConfig c, long seed) throws IOException {
    return write(dir, c, seed, 1, F32);
  }

  /**
   * Writes config.json and the weights into {@code dir}: one {@code model.safetensors} when {@code
   * shards} is 1, else that many shards and their index. Every file also holds a stale {@code
   * rotary_emb.inv_freq} buffer, as checkpoints saved by transformers before 4.31 do; readers must
   * ignore it.
   */
  public static Path write(
      Path dir, LlamaConfig c, long seed, int shards, Function<String, String> dtypeOf)
      throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), c.toJson());
    List<Tensor> all = new ArrayList<>(randomTensors(c, seed, dtypeOf).values());
    String stale = "model.layers.0.self_attn.rotary_emb.inv_freq";
    all.add(new Tensor(stale, new long[] {c.headDim() / 2}, new float[c.headDim() / 2]));
    Map<String, String> dtypes = new TreeMap<>();
    for (Tensor t : all) {
      dtypes.put(t.name(), t.name().equals(stale) ? "F32" : dtypeOf.apply(t.name()));
    }
    if (shards == 1) {
      Safetensors.write(dir.resolve(LlamaWeights.SINGLE), all, Map.of("format", "pt"), dtypes);
      return dir;
    }
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode index = m.createObjectNode();
    ObjectNode metadata = index.putObject("metadata");
    ObjectNode weightMap = index.putObject("weight_map");
    Map<String, String> sortedMap = new TreeMap<>();
    long totalBytes = 0;
    int per = (all.size() + shards - 1) / shards;
    for (int s = 0; s < shards; s++) {
      String file = shardName(s + 1, shards);
      List<Tensor> part =
          all.subList(Math.min(all.size(), s * per), Math.min(all.size(), (s + 1) * per));
      Safetensors.write(dir.resolve(file), part, Map.of("format", "pt"), dtypes);
      for (Tensor t : part) {
        sortedMap.put(t.name(), file);
        totalBytes += (dtypes.get(t.name()).equals("F32") ? 4L : 2L) * t.data().length;
      }
    }
    metadata.put("total_size", totalBytes);
    sortedMap.forEach(weightMap::put);
    Files.writeString(dir.resolve(LlamaWeights.INDEX), m.writeValueAsString(index) + "\n");
    return dir;
  }

  /** transformers' shard name, e.g. {@code model-00001-of-00003.safetensors}. */
  public static String shardName(int i, int n) {
    return String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i, n);
  }

  /**
   * Copies the bundled model's {@code tokenizer.json} into {@code dir}, so the folder is a full
   * model folder; refused when the config's vocabulary is smaller than the tokenizer's.
   */
  public static Path copyBundledTokenizer(Path dir, LlamaConfig c) throws IOException {
    if (c.vocabSize() < VOCAB) {
      throw new IllegalArgumentException(
          "vocab_size " + c.vocabSize() + " is smaller than the bundled tokenizer's " + VOCAB);
    }
    Files.copy(
        BundledModel.dir().resolve("tokenizer.json"),
        dir.resolve("tokenizer.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return dir;
  }
}
