package io.tokendrift.model;

import static io.tokendrift.model.LlamaConfig.SUPPORTED_MODEL_TYPES;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.model.LlamaConfig.Family;
import io.tokendrift.model.LlamaConfig.Llama3Scaling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads a Llama-family {@code config.json} into a {@link LlamaConfig}: absent fields take the
 * defaults of transformers' config classes, and every refusal names the file, the field and what is
 * allowed.
 */
final class LlamaConfigReader {
  private LlamaConfigReader() {}

  /**
   * The {@code model_type} of a {@code config.json}, checked against {@link
   * LlamaConfig#SUPPORTED_MODEL_TYPES}: {@code "gpt2"} also when the field is absent but GPT-2's
   * {@code n_embd} is present, as in early GPT-2 exports.
   */
  static String modelType(Path configJson) {
    JsonNode root = parse(configJson);
    JsonNode type = root.get("model_type");
    if (type == null || type.isNull()) {
      if (root.has("n_embd")) {
        return "gpt2";
      }
      throw new ModelFormatException(
          configJson
              + ": field 'model_type' is missing; supported: "
              + String.join(", ", SUPPORTED_MODEL_TYPES));
    }
    if (!type.isTextual() || !SUPPORTED_MODEL_TYPES.contains(type.asText())) {
      throw unsupportedType(configJson, type);
    }
    return type.asText();
  }

  private static ModelFormatException unsupportedType(Path file, JsonNode type) {
    String shown = type.isTextual() ? "'" + type.asText() + "'" : type.toString();
    return new ModelFormatException(
        file
            + ": model_type "
            + shown
            + " is not supported; supported: "
            + String.join(", ", SUPPORTED_MODEL_TYPES));
  }

  /**
   * Reads and checks {@code config.json}; every refusal names the file, the field and what is
   * allowed.
   */
  static LlamaConfig read(Path file) {
    JsonNode root = parse(file);
    try {
      return fromJson(file, root);
    } catch (ModelFormatException e) {
      if (e.getMessage().startsWith("config.json: ")) {
        throw new ModelFormatException(
            file + ": " + e.getMessage().substring("config.json: ".length()), e);
      }
      throw e;
    }
  }

  /** RoPE types tokendrift computes; {@code default} means no scaling. */
  private static final List<String> ROPE_TYPES = List.of("default", "llama3");

  private static LlamaConfig fromJson(Path file, JsonNode root) {
    JsonNode typeNode = root.get("model_type");
    if (typeNode == null || typeNode.isNull()) {
      throw new ModelFormatException(
          file
              + ": field 'model_type' is missing; supported: "
              + String.join(", ", SUPPORTED_MODEL_TYPES));
    }
    Family family = typeNode.isTextual() ? Family.of(typeNode.asText()) : null;
    if (family == null) {
      if (typeNode.asText().equals("gpt2")) {
        throw new ModelFormatException(
            file + ": model_type 'gpt2' is not a Llama-family decoder; read it with Gpt2Config");
      }
      throw unsupportedType(file, typeNode);
    }
    refuseUnsupported(file, root);
    int hidden = requiredInt(file, root, "hidden_size");
    int heads = requiredInt(file, root, "num_attention_heads");
    if (heads < 1) {
      throw new ModelFormatException(file + ": num_attention_heads (" + heads + ") must be >= 1");
    }
    // Absent fields take the defaults of transformers' config classes, which differ by family.
    int kvHeads =
        switch (family) {
          case LLAMA -> heads;
          case MISTRAL -> 8;
          case QWEN2, QWEN3 -> 32;
        };
    JsonNode kv = root.get("num_key_value_heads");
    if (kv != null) {
      kvHeads = kv.isNull() ? heads : intValue(file, "num_key_value_heads", kv);
    } else if (heads % kvHeads != 0) {
      throw new ModelFormatException(
          file
              + ": field 'num_key_value_heads' is missing, and "
              + family.architecture().replace("ForCausalLM", "Config")
              + "'s default ("
              + kvHeads
              + ") does not divide num_attention_heads ("
              + heads
              + "); allowed: a divisor of num_attention_heads");
    }
    JsonNode hd = root.get("head_dim");
    int headDim =
        hd == null && family == Family.QWEN3
            ? 128
            : hd == null || hd.isNull() ? hidden / heads : intValue(file, "head_dim", hd);
    int maxPositions =
        optionalInt(
            file,
            root,
            "max_position_embeddings",
            switch (family) {
              case LLAMA -> 2048;
              case MISTRAL -> 4096 * 32;
              case QWEN2, QWEN3 -> 32768;
            });
    boolean mistralLike = family == Family.LLAMA || family == Family.MISTRAL;
    int bos = mistralLike ? 1 : -1;
    JsonNode bosNode = root.get("bos_token_id");
    if (bosNode != null) {
      bos = bosNode.isNull() ? -1 : intValue(file, "bos_token_id", bosNode);
    }
    List<Integer> eos = mistralLike ? List.of(2) : List.of();
    JsonNode eosNode = root.get("eos_token_id");
    if (eosNode != null) {
      eos = eosIds(file, eosNode);
    }
    boolean attentionBias =
        (family == Family.LLAMA || family == Family.QWEN3)
            && bool(file, root, "attention_bias", false);
    boolean mlpBias = family == Family.LLAMA && bool(file, root, "mlp_bias", false);
    double[] theta = new double[1];
    Llama3Scaling scaling = rope(file, root, theta);
    return new LlamaConfig(
        family,
        requiredInt(file, root, "vocab_size"),
        hidden,
        requiredInt(file, root, "intermediate_size"),
        requiredInt(file, root, "num_hidden_layers"),
        heads,
        kvHeads,
        headDim,
        number(file, root, "rms_norm_eps", 1e-6),
        theta[0],
        scaling,
        maxPositions,
        bool(file, root, "tie_word_embeddings", false),
        attentionBias,
        mlpBias,
        slidingWindow(file, root, family, requiredInt(file, root, "num_hidden_layers")),
        bos,
        eos);
  }

  /** Options that change the forward pass in ways tokendrift does not compute. */
  private static void refuseUnsupported(Path file, JsonNode root) {
    String act = root.path("hidden_act").asText("silu");
    // transformers' ACT2FN maps both names to the same SiLU.
    if (!act.equals("silu") && !act.equals("swish")) {
      throw new ModelFormatException(
          file
              + ": field 'hidden_act' is '"
              + act
              + "'; supported: silu (the SwiGLU of Llama-family decoders)");
    }
    JsonNode q = root.get("quantization_config");
    if (q != null && !q.isNull()) {
      throw new ModelFormatException(
          file
              + ": field 'quantization_config' is set; supported: absent (tokendrift reads F32, F16"
              + " and BF16 weights only)");
    }
    JsonNode partial = root.get("partial_rotary_factor");
    if (partial != null && !partial.isNull() && partial.asDouble() != 1.0) {
      throw new ModelFormatException(
          file
              + ": field 'partial_rotary_factor' is "
              + partial
              + "; supported: 1.0 (rotary embedding over the whole head)");
    }
  }

  /**
   * The RoPE scaling and, into {@code theta[0]}, the base: from {@code rope_theta} and {@code
   * rope_scaling} (transformers 4.x), or from {@code rope_parameters} (5.x), which holds both.
   */
  private static Llama3Scaling rope(Path file, JsonNode root, double[] theta) {
    theta[0] = number(file, root, "rope_theta", 10000.0);
    String field = "rope_scaling";
    JsonNode scaling = root.get(field);
    JsonNode params = root.get("rope_parameters");
    if (params != null && !params.isNull()) {
      if (!params.isObject()) {
        throw new ModelFormatException(
            file + ": field 'rope_parameters' must be an object or null");
      }
      field = "rope_parameters";
      scaling = params;
      if (params.has("rope_theta")) {
        theta[0] = number(file, params, "rope_theta", theta[0], field + ".");
      }
    }
    if (scaling == null || scaling.isNull()) {
      return null;
    }
    if (!scaling.isObject()) {
      throw new ModelFormatException(file + ": field '" + field + "' must be an object or null");
    }
    JsonNode type = scaling.has("rope_type") ? scaling.get("rope_type") : scaling.get("type");
    String typeField = field + (scaling.has("rope_type") ? ".rope_type" : ".type");
    if (type == null || type.isNull()) {
      if (field.equals("rope_parameters")) {
        return null; // only rope_theta: transformers then uses the default RoPE
      }
      throw new ModelFormatException(
          file
              + ": field '"
              + field
              + ".rope_type' is missing; supported: "
              + String.join(", ", ROPE_TYPES));
    }
    String t = type.asText();
    if (t.equals("default")) {
      return null;
    }
    if (!t.equals("llama3")) {
      throw new ModelFormatException(
          file
              + ": field '"
              + typeField
              + "' is '"
              + t
              + "'; supported: "
              + String.join(", ", ROPE_TYPES));
    }
    String p = field + ".";
    double factor = requiredNumber(file, scaling, "factor", p);
    double low = requiredNumber(file, scaling, "low_freq_factor", p);
    double high = requiredNumber(file, scaling, "high_freq_factor", p);
    int original =
        intValue(
            file,
            p + "original_max_position_embeddings",
            required(file, scaling, "original_max_position_embeddings", p));
    try {
      return new Llama3Scaling(factor, low, high, original);
    } catch (ModelFormatException e) {
      // The record names rope_scaling; transformers 5.x files hold the same keys elsewhere.
      throw new ModelFormatException(
          e.getMessage().replace("config.json: rope_scaling.", file + ": " + p), e);
    }
  }

  /**
   * The window of sliding-window attention when any layer uses it: Mistral slides every layer
   * ({@code sliding_window}, 4096 when absent); Qwen2 and Qwen3 only with {@code
   * use_sliding_window}, and only the layers from {@code max_window_layers} on (or those {@code
   * layer_types} marks {@code sliding_attention}).
   */
  private static Integer slidingWindow(Path file, JsonNode root, Family family, int layers) {
    if (family == Family.LLAMA) {
      return null;
    }
    if ((family == Family.QWEN2 || family == Family.QWEN3)
        && !bool(file, root, "use_sliding_window", false)) {
      return null;
    }
    JsonNode sw = root.get("sliding_window");
    Integer window = null; // an explicit null: no window
    if (sw == null) {
      window = 4096; // the config classes' default
    } else if (!sw.isNull()) {
      window = intValue(file, "sliding_window", sw);
    }
    if (window == null || family == Family.MISTRAL) {
      return window;
    }
    JsonNode types = root.get("layer_types");
    boolean anySliding;
    if (types != null && types.isArray()) {
      anySliding = false;
      for (JsonNode t : types) {
        anySliding |= t.asText().equals("sliding_attention");
      }
    } else {
      anySliding = optionalInt(file, root, "max_window_layers", 28) < layers;
    }
    return anySliding ? window : null;
  }

  private static List<Integer> eosIds(Path file, JsonNode n) {
    if (n.isNull()) {
      return List.of();
    }
    if (n.isArray()) {
      List<Integer> out = new java.util.ArrayList<>();
      for (int i = 0; i < n.size(); i++) {
        out.add(intValue(file, "eos_token_id[" + i + "]", n.get(i)));
      }
      return out;
    }
    if (n.isIntegralNumber()) {
      return List.of(intValue(file, "eos_token_id", n));
    }
    throw new ModelFormatException(
        file + ": field 'eos_token_id' is " + n + "; allowed: a token id, a list of them, or null");
  }

  private static JsonNode required(Path file, JsonNode root, String field, String prefix) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      throw new ModelFormatException(file + ": field '" + prefix + field + "' is missing");
    }
    return n;
  }

  private static int requiredInt(Path file, JsonNode root, String field) {
    return intValue(file, field, required(file, root, field, ""));
  }

  private static int optionalInt(Path file, JsonNode root, String field, int absent) {
    JsonNode n = root.get(field);
    return n == null || n.isNull() ? absent : intValue(file, field, n);
  }

  private static int intValue(Path file, String field, JsonNode n) {
    // transformers writes some integers as floats (e.g. 32768.0); accept those that are whole.
    boolean whole =
        n.isIntegralNumber() || (n.isNumber() && n.asDouble() == Math.rint(n.asDouble()));
    if (!whole || n.asDouble() > Integer.MAX_VALUE || n.asDouble() < Integer.MIN_VALUE) {
      throw new ModelFormatException(
          file + ": field '" + field + "' is " + n + "; allowed: an integer");
    }
    return n.asInt();
  }

  private static double requiredNumber(Path file, JsonNode root, String field, String prefix) {
    JsonNode n = required(file, root, field, prefix);
    if (!n.isNumber()) {
      throw new ModelFormatException(
          file + ": field '" + prefix + field + "' is " + n + "; allowed: a number");
    }
    return n.asDouble();
  }

  private static double number(Path file, JsonNode root, String field, double absent) {
    return number(file, root, field, absent, "");
  }

  private static double number(
      Path file, JsonNode root, String field, double absent, String prefix) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return absent;
    }
    return requiredNumber(file, root, field, prefix);
  }

  private static boolean bool(Path file, JsonNode root, String field, boolean absent) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return absent;
    }
    if (!n.isBoolean()) {
      throw new ModelFormatException(
          file + ": field '" + field + "' is " + n + "; allowed: true or false");
    }
    return n.asBoolean();
  }

  /**
   * The JSON object in {@code file}; refused, naming the file, when unreadable or not an object.
   */
  static JsonNode parse(Path file) {
    try {
      JsonNode root = new ObjectMapper().readTree(Files.readString(file));
      if (root == null || !root.isObject()) {
        throw new ModelFormatException(file + ": not a JSON object");
      }
      return root;
    } catch (IOException e) {
      throw new ModelFormatException(file + ": cannot read config: " + e.getMessage(), e);
    }
  }
}
