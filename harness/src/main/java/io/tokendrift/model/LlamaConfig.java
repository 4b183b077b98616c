package io.tokendrift.model;

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
    return LlamaConfigReader.modelType(configJson);
  }

  /**
   * Reads and checks {@code config.json}; every refusal names the file, the field and what is
   * allowed.
   */
  public static LlamaConfig read(Path file) {
    return LlamaConfigReader.read(file);
  }

  /** This config as a {@code config.json} that transformers' {@code AutoModelForCausalLM} loads. */
  public String toJson() {
    return LlamaConfigWriter.toJson(this);
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
