package io.tokendrift.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The fields of a Hugging Face {@code config.json} for a Llama-family decoder ({@code llama},
 * {@code mistral}, {@code qwen2}, dense {@code qwen3}) that change the forward pass, read with the
 * defaults transformers' own config classes use when a field is absent (LlamaConfig, MistralConfig,
 * Qwen2Config, Qwen3Config).
 *
 * <p>What the family changes, as transformers' modeling files have it: {@code qwen2} always has a
 * bias on q, k and v and never on o; {@code llama} and {@code qwen3} put one on all four when
 * {@code attention_bias} is true; {@code mistral} has none; only {@code llama} reads {@code
 * mlp_bias}; {@code qwen3} RMS-normalises every query and key head ({@code q_norm}, {@code k_norm})
 * before the rotary embedding.
 *
 * @param family which modeling file defines the forward pass ({@code model_type})
 * @param vocabSize tokens in the vocabulary ({@code vocab_size})
 * @param hiddenSize residual stream width ({@code hidden_size})
 * @param intermediateSize SwiGLU inner width ({@code intermediate_size})
 * @param layers decoder layers ({@code num_hidden_layers})
 * @param heads query heads ({@code num_attention_heads})
 * @param kvHeads key/value heads ({@code num_key_value_heads}); each serves {@code heads / kvHeads}
 *     query heads
 * @param headDim width of one head ({@code head_dim}); may differ from {@code hiddenSize / heads}
 * @param rmsNormEps {@code rms_norm_eps}
 * @param ropeTheta rotary base ({@code rope_theta})
 * @param ropeScaling Llama 3.1's frequency scaling, or null for plain RoPE
 * @param maxPositionEmbeddings positions the model was trained for ({@code
 *     max_position_embeddings})
 * @param tiedHead true when the LM head is {@code embed_tokens} ({@code tie_word_embeddings})
 * @param attentionBias {@code attention_bias} of {@code llama} and {@code qwen3}; always false for
 *     {@code mistral} and {@code qwen2}, whose bias layout is fixed (see {@link #qkvBias()})
 * @param mlpBias {@code mlp_bias} of {@code llama}; false for the others
 * @param slidingWindow attention window in tokens when some layer slides, else null
 * @param bosTokenId {@code bos_token_id}, or -1
 * @param eosTokenIds {@code eos_token_id} (one id or a list in the file), possibly empty
 */
public record LlamaConfig(
    Family family,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int layers,
    int heads,
    int kvHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    Llama3Scaling ropeScaling,
    int maxPositionEmbeddings,
    boolean tiedHead,
    boolean attentionBias,
    boolean mlpBias,
    Integer slidingWindow,
    int bosTokenId,
    List<Integer> eosTokenIds)
    implements ModelConfig {

  /** Every {@code model_type} tokendrift runs, GPT-2 included: the engine dispatches on it. */
  public static final List<String> SUPPORTED_MODEL_TYPES =
      List.of("gpt2", "llama", "mistral", "qwen2", "qwen3");

  /** The Llama-family modeling files, by their {@code model_type}. */
  public enum Family {
    LLAMA("llama", "LlamaForCausalLM"),
    MISTRAL("mistral", "MistralForCausalLM"),
    QWEN2("qwen2", "Qwen2ForCausalLM"),
    QWEN3("qwen3", "Qwen3ForCausalLM");

    private final String modelType;
    private final String architecture;

    Family(String modelType, String architecture) {
      this.modelType = modelType;
      this.architecture = architecture;
    }

    /** The {@code model_type} string of {@code config.json}. */
    public String modelType() {
      return modelType;
    }

    /** The transformers class that loads this family, written into {@code architectures}. */
    public String architecture() {
      return architecture;
    }

    /** The family of {@code modelType}, or null when it is not a Llama-family type. */
    static Family of(String modelType) {
      for (Family f : values()) {
        if (f.modelType.equals(modelType)) {
          return f;
        }
      }
      return null;
    }
  }

  /**
   * Llama 3.1's RoPE scaling ({@code rope_type: "llama3"}), as transformers' {@code
   * _compute_llama3_parameters}: frequencies whose wavelength exceeds {@code
   * originalMaxPositionEmbeddings / lowFreqFactor} are divided by {@code factor}, those below
   * {@code originalMaxPositionEmbeddings / highFreqFactor} kept, and those between interpolated.
   *
   * @param factor divisor of the low frequencies
   * @param lowFreqFactor {@code low_freq_factor}
   * @param highFreqFactor {@code high_freq_factor}, greater than {@code lowFreqFactor}
   * @param originalMaxPositionEmbeddings the pre-scaling context, {@code
   *     original_max_position_embeddings}
   */
  public record Llama3Scaling(
      double factor,
      double lowFreqFactor,
      double highFreqFactor,
      int originalMaxPositionEmbeddings) {
    public Llama3Scaling {
      if (!(factor > 0)) {
        throw bad("rope_scaling.factor", factor, "> 0");
      }
      if (!(lowFreqFactor > 0)) {
        throw bad("rope_scaling.low_freq_factor", lowFreqFactor, "> 0");
      }
      // Equal factors would divide by zero in the interpolation's smooth factor.
      if (!(highFreqFactor > lowFreqFactor)) {
        throw bad(
            "rope_scaling.high_freq_factor",
            highFreqFactor,
            "> low_freq_factor (" + fmt(lowFreqFactor) + ")");
      }
      if (originalMaxPositionEmbeddings < 1) {
        throw bad(
            "rope_scaling.original_max_position_embeddings", originalMaxPositionEmbeddings, ">= 1");
      }
    }
  }

  public LlamaConfig {
    if (family == null) {
      throw new ModelFormatException(
          "config.json: model_type is missing; supported: "
              + String.join(", ", SUPPORTED_MODEL_TYPES));
    }
    check(vocabSize >= 1, "vocab_size", vocabSize, ">= 1");
    check(hiddenSize >= 1, "hidden_size", hiddenSize, ">= 1");
    check(intermediateSize >= 1, "intermediate_size", intermediateSize, ">= 1");
    check(layers >= 1, "num_hidden_layers", layers, ">= 1");
    check(heads >= 1, "num_attention_heads", heads, ">= 1");
    check(
        kvHeads >= 1 && heads % kvHeads == 0,
        "num_key_value_heads",
        kvHeads,
        ">= 1 and divide num_attention_heads (" + heads + ")");
    // rotate_half splits each head into two halves of equal width.
    check(headDim >= 2 && headDim % 2 == 0, "head_dim", headDim, "even and >= 2");
    if (!(rmsNormEps > 0)) {
      throw bad("rms_norm_eps", rmsNormEps, "> 0");
    }
    if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
      throw bad("rope_theta", ropeTheta, "a finite number > 0");
    }
    check(maxPositionEmbeddings >= 1, "max_position_embeddings", maxPositionEmbeddings, ">= 1");
    if (attentionBias && family != Family.LLAMA && family != Family.QWEN3) {
      throw new ModelFormatException(
          "config.json: attention_bias is read for llama and qwen3 only; "
              + family.modelType()
              + " has a fixed bias layout");
    }
    if (mlpBias && family != Family.LLAMA) {
      throw new ModelFormatException(
          "config.json: mlp_bias is read for llama only, not " + family.modelType());
    }
    if (slidingWindow != null) {
      if (family == Family.LLAMA) {
        throw new ModelFormatException("config.json: llama has no sliding_window");
      }
      check(slidingWindow >= 1, "sliding_window", slidingWindow, ">= 1 or null");
    }
    eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
    for (int i = 0; i < eosTokenIds.size(); i++) {
      int id = eosTokenIds.get(i);
      check(
          id >= 0 && id < vocabSize,
          eosTokenIds.size() == 1 ? "eos_token_id" : "eos_token_id[" + i + "]",
          id,
          "a token id in [0, vocab_size (" + vocabSize + "))");
    }
    check(bosTokenId >= -1, "bos_token_id", bosTokenId, ">= 0, or absent");
  }

  /** The {@code model_type} string. */
  public String modelType() {
    return family.modelType();
  }

  /**
   * Positions in use: {@code max_position_embeddings}, or the sliding window when smaller (up to
   * the window, attending to every earlier token is what sliding-window attention computes).
   */
  @Override
  public int contextLength() {
    return slidingWindow != null
        ? Math.min(maxPositionEmbeddings, slidingWindow)
        : maxPositionEmbeddings;
  }

  @Override
  public java.util.Set<Integer> eosIds() {
    return java.util.Set.copyOf(eosTokenIds);
  }

  /** True when generating {@code token} ends a sequence. */
  public boolean isEos(int token) {
    return eosTokenIds.contains(token);
  }

  /** Query heads served by one key/value head. */
  public int kvGroups() {
    return heads / kvHeads;
  }

  /**
   * True when q, k and v projections carry a bias: always for qwen2, else {@code attention_bias}.
   */
  public boolean qkvBias() {
    return family == Family.QWEN2 || attentionBias;
  }

  /** True when {@code o_proj} carries a bias ({@code attention_bias}; never for qwen2). */
  public boolean outputBias() {
    return attentionBias;
  }

  /** True when every query and key head is RMS-normalised before RoPE (qwen3). */
  public boolean qkNorm() {
    return family == Family.QWEN3;
  }

  /**
   * RoPE's inverse frequencies, one per pair of head dimensions ({@code headDim / 2} values):
   * {@code 1 / theta^(2i / headDim)}, scaled as Llama 3.1 does when {@link #ropeScaling()} is set.
   * Computed in double and rounded once to float32, because transformers holds them in a float32
   * buffer ({@code inv_freq}): engines and references start from the same values.
   */
  public float[] ropeInverseFrequencies() {
    int half = headDim / 2;
    float[] out = new float[half];
    for (int i = 0; i < half; i++) {
      double f = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
      if (ropeScaling != null) {
        Llama3Scaling s = ropeScaling;
        double wavelen = 2 * Math.PI / f;
        double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        if (wavelen > lowWavelen) {
          f = f / s.factor();
        } else if (wavelen >= highWavelen) {
          double smooth =
              (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                  / (s.highFreqFactor() - s.lowFreqFactor());
          f = (1 - smooth) * f / s.factor() + smooth * f;
        }
      }
      out[i] = (float) f;
    }
    return out;
  }

  /**
   * Refuses a context longer than the sliding window: tokendrift's engines attend to every earlier
   * token, which is what transformers computes only while the whole context fits in the window.
   */
  public void checkContext(int contextInUse) {
    if (slidingWindow != null && contextInUse > slidingWindow) {
      throw new ModelFormatException(
          "config.json: sliding_window is "
              + slidingWindow
              + " but the context in use is "
              + contextInUse
              + " tokens; tokendrift attends to the whole context, which equals the model's"
              + " sliding-window attention only up to "
              + slidingWindow
              + " tokens: use at most "
              + slidingWindow
              + " tokens (prompt plus generated)");
    }
  }

  /**
   * The {@code model_type} of a {@code config.json}, checked against {@link
   * #SUPPORTED_MODEL_TYPES}: {@code "gpt2"} also when the field is absent but GPT-2's {@code
   * n_embd} is present, as in early GPT-2 exports.
   */
  public static String modelType(Path configJson) {
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
  public static LlamaConfig read(Path file) {
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

  /** This config as a {@code config.json} that transformers' {@code AutoModelForCausalLM} loads. */
  public String toJson() {
    ObjectMapper m = new ObjectMapper();
    ObjectNode n = m.createObjectNode();
    n.put("model_type", family.modelType());
    n.putArray("architectures").add(family.architecture());
    n.put("vocab_size", vocabSize);
    n.put("hidden_size", hiddenSize);
    n.put("intermediate_size", intermediateSize);
    n.put("num_hidden_layers", layers);
    n.put("num_attention_heads", heads);
    n.put("num_key_value_heads", kvHeads);
    n.put("head_dim", headDim);
    n.put("hidden_act", "silu");
    n.put("rms_norm_eps", rmsNormEps);
    n.put("rope_theta", ropeTheta);
    if (ropeScaling == null) {
      n.putNull("rope_scaling");
    } else {
      ObjectNode r = n.putObject("rope_scaling");
      r.put("rope_type", "llama3");
      r.put("factor", ropeScaling.factor());
      r.put("low_freq_factor", ropeScaling.lowFreqFactor());
      r.put("high_freq_factor", ropeScaling.highFreqFactor());
      r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
    }
    n.put("max_position_embeddings", maxPositionEmbeddings);
    n.put("tie_word_embeddings", tiedHead);
    switch (family) {
      case LLAMA -> {
        n.put("attention_bias", attentionBias);
        n.put("mlp_bias", mlpBias);
      }
      // An explicit null: MistralConfig's default for an absent field is 4096.
      case MISTRAL -> putWindow(n, "sliding_window", slidingWindow);
      case QWEN2, QWEN3 -> {
        if (family == Family.QWEN3) {
          n.put("attention_bias", attentionBias);
        }
        n.put("use_sliding_window", slidingWindow != null);
        putWindow(n, "sliding_window", slidingWindow);
        // Every layer slides when the window is on: the one layout the record describes.
        n.put("max_window_layers", 0);
      }
    }
    if (bosTokenId >= 0) {
      n.put("bos_token_id", bosTokenId);
    } else {
      n.putNull("bos_token_id");
    }
    if (eosTokenIds.size() == 1) {
      n.put("eos_token_id", eosTokenIds.get(0));
    } else if (eosTokenIds.isEmpty()) {
      n.putNull("eos_token_id");
    } else {
      ArrayNode a = n.putArray("eos_token_id");
      for (int id : eosTokenIds) {
        a.add(id);
      }
    }
    n.put("torch_dtype", "float32");
    try {
      return m.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void putWindow(ObjectNode n, String field, Integer window) {
    if (window == null) {
      n.putNull(field);
    } else {
      n.put(field, window);
    }
  }

  private static void check(boolean ok, String field, long value, String allowed) {
    if (!ok) {
      throw new ModelFormatException(
          "config.json: " + field + " (" + value + ") must be " + allowed);
    }
  }

  private static ModelFormatException bad(String field, double value, String allowed) {
    return new ModelFormatException(
        "config.json: " + field + " (" + fmt(value) + ") must be " + allowed);
  }

  static String fmt(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}
