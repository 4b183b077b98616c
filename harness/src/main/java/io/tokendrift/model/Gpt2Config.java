package io.tokendrift.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fields of a Hugging Face GPT-2 {@code config.json} the decoder needs.
 *
 * @param vocabSize tokens in the vocabulary ({@code vocab_size})
 * @param contextLength positions the model was trained for ({@code n_positions})
 * @param width embedding width ({@code n_embd})
 * @param layers transformer blocks ({@code n_layer})
 * @param heads attention heads ({@code n_head})
 * @param inner MLP hidden width ({@code n_inner}, default 4 × width)
 * @param layerNormEpsilon {@code layer_norm_epsilon}
 * @param tanhGelu true for GPT-2's tanh GELU ({@code gelu_new}), false for the erf form
 * @param eosTokenId {@code eos_token_id}, or -1
 * @param tiedHead true when the LM head is {@code wte} ({@code tie_word_embeddings}, Hugging Face's
 *     default); false when the checkpoint holds its own {@code lm_head.weight}
 */
public record Gpt2Config(
    int vocabSize,
    int contextLength,
    int width,
    int layers,
    int heads,
    int inner,
    double layerNormEpsilon,
    boolean tanhGelu,
    int eosTokenId,
    boolean tiedHead)
    implements ModelConfig {

  /** A config with the LM head tied to {@code wte}, as GPT-2's own checkpoints have it. */
  public Gpt2Config(
      int vocabSize,
      int contextLength,
      int width,
      int layers,
      int heads,
      int inner,
      double layerNormEpsilon,
      boolean tanhGelu,
      int eosTokenId) {
    this(
        vocabSize,
        contextLength,
        width,
        layers,
        heads,
        inner,
        layerNormEpsilon,
        tanhGelu,
        eosTokenId,
        true);
  }

  /** The same config with the LM head tied or untied. */
  public Gpt2Config withTiedHead(boolean tied) {
    return new Gpt2Config(
        vocabSize,
        contextLength,
        width,
        layers,
        heads,
        inner,
        layerNormEpsilon,
        tanhGelu,
        eosTokenId,
        tied);
  }

  public Gpt2Config {
    check(vocabSize >= 1, "vocab_size", vocabSize, ">= 1");
    check(contextLength >= 1, "n_positions", contextLength, ">= 1");
    check(width >= 1, "n_embd", width, ">= 1");
    check(layers >= 1, "n_layer", layers, ">= 1");
    check(
        heads >= 1 && width % heads == 0,
        "n_head",
        heads,
        ">= 1 and divide n_embd (" + width + ")");
    check(inner >= 1, "n_inner", inner, ">= 1");
    if (!(layerNormEpsilon > 0)) {
      throw new ModelFormatException(
          "config.json: layer_norm_epsilon (" + layerNormEpsilon + ") must be > 0");
    }
  }

  private static void check(boolean ok, String field, long value, String allowed) {
    if (!ok) {
      throw new ModelFormatException(
          "config.json: " + field + " (" + value + ") must be " + allowed);
    }
  }

  /** Size of one attention head. */
  @Override
  public java.util.Set<Integer> eosIds() {
    return eosTokenId < 0 ? java.util.Set.of() : java.util.Set.of(eosTokenId);
  }

  @Override
  public String modelType() {
    return "gpt2";
  }

  public int headSize() {
    return width / heads;
  }

  /**
   * GPT-2 options that change the forward pass and that our engine does not implement, with the
   * value under which the engine is exact: a checkpoint setting another is refused, never run as if
   * unset (some third-party checkpoints set them).
   */
  private static final String[][] FIXED_OPTIONS = {
    {"scale_attn_by_inverse_layer_idx", "false"},
    {"reorder_and_upcast_attn", "false"},
    {"scale_attn_weights", "true"},
    {"add_cross_attention", "false"},
  };

  private static void refuseUnsupported(Path file, JsonNode root) {
    for (String[] o : FIXED_OPTIONS) {
      JsonNode v = root.get(o[0]);
      if (v != null && !v.isNull() && !v.asText().equals(o[1])) {
        throw new ModelFormatException(
            file
                + ": field '"
                + o[0]
                + "' is "
                + v
                + "; tokendrift's GPT-2 engine supports only "
                + o[1]
                + " (it would compute other logits than the checkpoint's own)");
      }
    }
  }

  /** Reads and checks {@code config.json}. */
  public static Gpt2Config read(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readString(file));
    } catch (IOException e) {
      throw new ModelFormatException(file + ": cannot read config: " + e.getMessage(), e);
    }
    String type = root.path("model_type").asText("");
    if (!type.equals("gpt2")) {
      throw new ModelFormatException(
          file + ": model_type '" + type + "' is not supported; allowed: gpt2");
    }
    refuseUnsupported(file, root);
    int width = required(file, root, "n_embd");
    String act = root.path("activation_function").asText("gelu_new");
    boolean tanh =
        switch (act) {
          case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> true;
          case "gelu" -> false;
          default ->
              throw new ModelFormatException(
                  file
                      + ": activation_function '"
                      + act
                      + "' is not supported; allowed: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu");
        };
    JsonNode innerNode = root.path("n_inner");
    int inner = innerNode.isNull() || innerNode.isMissingNode() ? 4 * width : innerNode.asInt();
    int positions =
        root.has("n_positions") ? root.get("n_positions").asInt() : required(file, root, "n_ctx");
    try {
      return new Gpt2Config(
          required(file, root, "vocab_size"),
          positions,
          width,
          required(file, root, "n_layer"),
          required(file, root, "n_head"),
          inner,
          root.path("layer_norm_epsilon").asDouble(1e-5),
          tanh,
          root.path("eos_token_id").asInt(-1),
          root.path("tie_word_embeddings").asBoolean(true));
    } catch (ModelFormatException e) {
      throw new ModelFormatException(file + ": " + e.getMessage().replace("config.json: ", ""));
    }
  }

  private static int required(Path file, JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || !n.isIntegralNumber()) {
      throw new ModelFormatException(file + ": field '" + field + "' is missing or not an integer");
    }
    return n.asInt();
  }

  /** This config as a Hugging Face {@code config.json} that transformers' GPT2LMHeadModel loads. */
  public String toJson() {
    ObjectMapper m = new ObjectMapper();
    ObjectNode n = m.createObjectNode();
    n.put("model_type", "gpt2");
    n.putArray("architectures").add("GPT2LMHeadModel");
    n.put("vocab_size", vocabSize);
    n.put("n_positions", contextLength);
    n.put("n_ctx", contextLength);
    n.put("n_embd", width);
    n.put("n_layer", layers);
    n.put("n_head", heads);
    n.put("n_inner", inner);
    n.put("layer_norm_epsilon", layerNormEpsilon);
    n.put("activation_function", tanhGelu ? "gelu_new" : "gelu");
    n.put("bos_token_id", eosTokenId);
    n.put("eos_token_id", eosTokenId);
    n.put("tie_word_embeddings", tiedHead);
    n.put("torch_dtype", "float32");
    try {
      return m.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
