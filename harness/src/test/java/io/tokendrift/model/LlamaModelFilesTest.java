package io.tokendrift.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.tokendrift.model.LlamaConfig.Family;
import io.tokendrift.model.LlamaConfig.Llama3Scaling;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Llama-family config.json, weights (single, sharded, F16/BF16) and the float64 reference. */
class LlamaModelFilesTest {
  @TempDir Path dir;

  private Path config(String json) throws Exception {
    Path f = dir.resolve("config.json");
    Files.writeString(f, json);
    return f;
  }

  private static final String MINIMAL =
      """
      "vocab_size": 1000, "hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 2, "num_attention_heads": 4""";

  // ---- config.json ----

  @Test
  void absentFieldsTakeEachFamilysTransformersDefaults() throws Exception {
    LlamaConfig llama = LlamaConfig.read(config("{\"model_type\": \"llama\", " + MINIMAL + "}"));
    assertThat(llama.family()).isEqualTo(Family.LLAMA);
    assertThat(llama.kvHeads()).isEqualTo(4); // LlamaConfig: None -> num_attention_heads
    assertThat(llama.headDim()).isEqualTo(16); // hidden_size / num_attention_heads
    assertThat(llama.rmsNormEps()).isEqualTo(1e-6);
    assertThat(llama.ropeTheta()).isEqualTo(10_000);
    assertThat(llama.ropeScaling()).isNull();
    assertThat(llama.maxPositionEmbeddings()).isEqualTo(2048);
    assertThat(llama.tiedHead()).isFalse();
    assertThat(llama.qkvBias()).isFalse();
    assertThat(llama.outputBias()).isFalse();
    assertThat(llama.mlpBias()).isFalse();
    assertThat(llama.qkNorm()).isFalse();
    assertThat(llama.slidingWindow()).isNull();
    assertThat(llama.bosTokenId()).isEqualTo(1);
    assertThat(llama.eosTokenIds()).containsExactly(2);

    LlamaConfig mistral =
        LlamaConfig.read(
            config(
                """
                {"model_type": "mistral", "vocab_size": 1000, "hidden_size": 64,
                 "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 16}"""));
    assertThat(mistral.kvHeads()).isEqualTo(8); // MistralConfig's default when absent
    assertThat(mistral.slidingWindow()).isEqualTo(4096); // MistralConfig's default window
    assertThat(mistral.maxPositionEmbeddings()).isEqualTo(4096 * 32);

    LlamaConfig qwen2 =
        LlamaConfig.read(
            config("{\"model_type\": \"qwen2\", " + MINIMAL + ", \"num_key_value_heads\": 2}"));
    assertThat(qwen2.qkvBias()).isTrue();
    assertThat(qwen2.outputBias()).isFalse();
    assertThat(qwen2.slidingWindow()).isNull(); // use_sliding_window defaults to false
    assertThat(qwen2.bosTokenId()).isEqualTo(-1);
    assertThat(qwen2.eosTokenIds()).isEmpty();
    assertThat(qwen2.maxPositionEmbeddings()).isEqualTo(32768);

    LlamaConfig qwen3 =
        LlamaConfig.read(
            config("{\"model_type\": \"qwen3\", " + MINIMAL + ", \"num_key_value_heads\": 2}"));
    assertThat(qwen3.headDim()).isEqualTo(128); // Qwen3Config: head_dim defaults to 128
    assertThat(qwen3.qkNorm()).isTrue();
    assertThat(qwen3.qkvBias()).isFalse();
    // Qwen2Config and Qwen3Config default num_key_value_heads to 32, which 4 heads cannot use.
    Path noKv = config("{\"model_type\": \"qwen3\", " + MINIMAL + "}");
    assertThatThrownBy(() -> LlamaConfig.read(noKv))
        .hasMessage(
            noKv
                + ": field 'num_key_value_heads' is missing, and Qwen3Config's default (32) does"
                + " not divide num_attention_heads (4); allowed: a divisor of"
                + " num_attention_heads");
  }

  @Test
  void readsConfigsShapedLikePublishedCheckpoints() throws Exception {
    // Qwen2.5-0.5B-Instruct's config.json, abridged.
    LlamaConfig qwen25 =
        LlamaConfig.read(
            config(
                """
                {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0,
                 "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu",
                 "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
                 "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2",
                 "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
                 "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
                 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
                 "use_sliding_window": false, "vocab_size": 151936}"""));
    assertThat(qwen25.headDim()).isEqualTo(64);
    assertThat(qwen25.kvGroups()).isEqualTo(7);
    assertThat(qwen25.ropeTheta()).isEqualTo(1e6);
    assertThat(qwen25.tiedHead()).isTrue();
    assertThat(qwen25.slidingWindow()).isNull();
    assertThat(qwen25.eosTokenIds()).containsExactly(151645);
    assertThat(LlamaWeights.parameterCount(qwen25)).isEqualTo(494_032_768L); // "0.49B" on its card

    // Llama-3.2-1B's config.json, abridged: llama3 RoPE scaling and three EOS ids.
    LlamaConfig llama32 =
        LlamaConfig.read(
            config(
                """
                {"architectures": ["LlamaForCausalLM"], "attention_bias": false,
                 "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
                 "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048,
                 "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false,
                 "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
                 "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
                 "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                 "rope_theta": 500000.0, "tie_word_embeddings": true, "vocab_size": 128256}"""));
    assertThat(llama32.ropeScaling()).isEqualTo(new Llama3Scaling(32, 1, 4, 8192));
    assertThat(llama32.eosTokenIds()).containsExactly(128001, 128008, 128009);
    assertThat(llama32.isEos(128008)).isTrue();
    assertThat(llama32.isEos(128000)).isFalse();
    assertThat(llama32.kvGroups()).isEqualTo(4);

    // Qwen3-0.6B's config.json, abridged: head_dim 128 is not 1024 / 16.
    LlamaConfig qwen3 =
        LlamaConfig.read(
            config(
                """
                {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false,
                 "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128,
                 "hidden_act": "silu", "hidden_size": 1024, "intermediate_size": 3072,
                 "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
                 "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
                 "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
                 "sliding_window": null, "tie_word_embeddings": true, "use_sliding_window": false,
                 "vocab_size": 151936}"""));
    assertThat(qwen3.headDim()).isEqualTo(128);
    assertThat(qwen3.qkNorm()).isTrue();
    assertThat(LlamaWeights.expectedShapes(qwen3).get(2).getValue()).containsExactly(2048, 1024);
  }

  @Test
  void transformers5RopeParametersAreReadLikeRopeThetaAndScaling() throws Exception {
    LlamaConfig c =
        LlamaConfig.read(
            config(
                "{\"model_type\": \"llama\", "
                    + MINIMAL
                    + ", \"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0,"
                    + " \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                    + " \"original_max_position_embeddings\": 8192}}"));
    assertThat(c.ropeTheta()).isEqualTo(500_000);
    assertThat(c.ropeScaling()).isEqualTo(new Llama3Scaling(8, 1, 4, 8192));
    LlamaConfig plain =
        LlamaConfig.read(
            config(
                "{\"model_type\": \"qwen2\", "
                    + MINIMAL
                    + ", \"num_key_value_heads\": 4,"
                    + " \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1e6}}"));
    assertThat(plain.ropeTheta()).isEqualTo(1e6);
    assertThat(plain.ropeScaling()).isNull();
  }

  @Test
  void everyPresetRoundTripsThroughToJson() throws Exception {
    for (LlamaConfig c : LlamaCheckpoints.ALL) {
      assertThat(LlamaConfig.read(config(c.toJson()))).as(c.modelType()).isEqualTo(c);
    }
    LlamaConfig several =
        new LlamaConfig(
            Family.LLAMA,
            100,
            16,
            32,
            1,
            2,
            2,
            8,
            1e-5,
            10_000,
            null,
            64,
            false,
            false,
            false,
            null,
            -1,
            List.of(3, 7));
    assertThat(LlamaConfig.read(config(several.toJson()))).isEqualTo(several);
  }

  @Test
  void unsupportedModelTypesAreRefusedWithTheSupportedList() throws Exception {
    Path f = config("{\"model_type\": \"phi3\", " + MINIMAL + "}");
    String supported = "supported: gpt2, llama, mistral, qwen2, qwen3";
    assertThatThrownBy(() -> LlamaConfig.read(f))
        .isInstanceOf(ModelFormatException.class)
        .hasMessage(f + ": model_type 'phi3' is not supported; " + supported);
    assertThatThrownBy(() -> LlamaConfig.modelType(f))
        .hasMessage(f + ": model_type 'phi3' is not supported; " + supported);
    Path none = config("{" + MINIMAL + "}");
    assertThatThrownBy(() -> LlamaConfig.read(none))
        .hasMessage(none + ": field 'model_type' is missing; " + supported);
    assertThatThrownBy(() -> LlamaConfig.modelType(none))
        .hasMessage(none + ": field 'model_type' is missing; " + supported);
    Path gpt2 = config("{\"model_type\": \"gpt2\", \"n_embd\": 8}");
    assertThatThrownBy(() -> LlamaConfig.read(gpt2))
        .hasMessage(
            gpt2 + ": model_type 'gpt2' is not a Llama-family decoder; read it with Gpt2Config");
  }

  @Test
  void modelTypeDispatchesGpt2AndTheLlamaFamily() throws Exception {
    assertThat(LlamaConfig.modelType(BundledModel.dir().resolve("config.json"))).isEqualTo("gpt2");
    assertThat(LlamaConfig.modelType(config("{\"n_embd\": 64, \"n_layer\": 2}"))).isEqualTo("gpt2");
    for (LlamaConfig c : LlamaCheckpoints.ALL) {
      assertThat(LlamaConfig.modelType(config(c.toJson()))).isEqualTo(c.modelType());
    }
  }

  @Test
  void ropeScalingOtherThanLlama3IsRefusedByName() throws Exception {
    Path yarn =
        config(
            "{\"model_type\": \"qwen2\", "
                + MINIMAL
                + ", \"num_key_value_heads\": 2, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}}");
    assertThatThrownBy(() -> LlamaConfig.read(yarn))
        .hasMessage(
            yarn + ": field 'rope_scaling.rope_type' is 'yarn'; supported: default, llama3");
    // The key was "type" before transformers 4.43; it is read, and named, as such.
    Path linear =
        config(
            "{\"model_type\": \"llama\", "
                + MINIMAL
                + ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}");
    assertThatThrownBy(() -> LlamaConfig.read(linear))
        .hasMessage(linear + ": field 'rope_scaling.type' is 'linear'; supported: default, llama3");
    Path incomplete =
        config(
            "{\"model_type\": \"llama\", "
                + MINIMAL
                + ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0,"
                + " \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}}");
    assertThatThrownBy(() -> LlamaConfig.read(incomplete))
        .hasMessage(
            incomplete + ": field 'rope_scaling.original_max_position_embeddings' is missing");
    Path equalFactors =
        config(
            "{\"model_type\": \"llama\", "
                + MINIMAL
                + ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0,"
                + " \"low_freq_factor\": 2.0, \"high_freq_factor\": 2.0,"
                + " \"original_max_position_embeddings\": 8192}}");
    assertThatThrownBy(() -> LlamaConfig.read(equalFactors))
        .hasMessage(
            equalFactors + ": rope_scaling.high_freq_factor (2) must be > low_freq_factor (2)");
    Path defaultType =
        config(
            "{\"model_type\": \"llama\", "
                + MINIMAL
                + ", \"rope_scaling\": {\"rope_type\": \"default\"}}");
    assertThat(LlamaConfig.read(defaultType).ropeScaling()).isNull();
  }

  @Test
  void badFieldsNameTheFileTheFieldAndWhatIsAllowed() throws Exception {
    Path gelu = config("{\"model_type\": \"llama\", " + MINIMAL + ", \"hidden_act\": \"gelu\"}");
    assertThatThrownBy(() -> LlamaConfig.read(gelu))
        .hasMessage(
            gelu
                + ": field 'hidden_act' is 'gelu'; supported: silu (the SwiGLU of Llama-family"
                + " decoders)");
    Path kv = config("{\"model_type\": \"llama\", " + MINIMAL + ", \"num_key_value_heads\": 3}");
    assertThatThrownBy(() -> LlamaConfig.read(kv))
        .hasMessage(
            kv + ": num_key_value_heads (3) must be >= 1 and divide num_attention_heads (4)");
    Path odd = config("{\"model_type\": \"llama\", " + MINIMAL + ", \"head_dim\": 7}");
    assertThatThrownBy(() -> LlamaConfig.read(odd))
        .hasMessage(odd + ": head_dim (7) must be even and >= 2");
    Path eos = config("{\"model_type\": \"llama\", " + MINIMAL + ", \"eos_token_id\": \"</s>\"}");
    assertThatThrownBy(() -> LlamaConfig.read(eos))
        .hasMessage(
            eos
                + ": field 'eos_token_id' is \"</s>\"; allowed: a token id, a list of them, or null");
    Path eosRange =
        config("{\"model_type\": \"llama\", " + MINIMAL + ", \"eos_token_id\": [2, 1000]}");
    assertThatThrownBy(() -> LlamaConfig.read(eosRange))
        .hasMessage(
            eosRange + ": eos_token_id[1] (1000) must be a token id in [0, vocab_size (1000))");
    Path missing = config("{\"model_type\": \"mistral\", \"hidden_size\": 64}");
    assertThatThrownBy(() -> LlamaConfig.read(missing))
        .hasMessage(missing + ": field 'num_attention_heads' is missing");
    Path fraction = config("{\"model_type\": \"llama\", " + MINIMAL + ", \"head_dim\": 8.5}");
    assertThatThrownBy(() -> LlamaConfig.read(fraction))
        .hasMessage(fraction + ": field 'head_dim' is 8.5; allowed: an integer");
    Path tied =
        config("{\"model_type\": \"llama\", " + MINIMAL + ", \"tie_word_embeddings\": \"yes\"}");
    assertThatThrownBy(() -> LlamaConfig.read(tied))
        .hasMessage(tied + ": field 'tie_word_embeddings' is \"yes\"; allowed: true or false");
    Path quantized =
        config(
            "{\"model_type\": \"llama\", "
                + MINIMAL
                + ", \"quantization_config\": {\"quant_method\": \"gptq\"}}");
    assertThatThrownBy(() -> LlamaConfig.read(quantized))
        .hasMessage(
            quantized
                + ": field 'quantization_config' is set; supported: absent (tokendrift reads F32,"
                + " F16 and BF16 weights only)");
  }

  @Test
  void slidingWindowIsRefusedOnlyWhenTheContextExceedsIt() throws Exception {
    String mistral = "{\"model_type\": \"mistral\", " + MINIMAL + ", \"num_key_value_heads\": 2";
    Path f = config(mistral + ", \"sliding_window\": 64}");
    LlamaConfig c = LlamaConfig.read(f);
    c.checkContext(64); // the whole context fits in the window: full attention is exact
    assertThatThrownBy(() -> c.checkContext(65))
        .isInstanceOf(ModelFormatException.class)
        .hasMessage(
            "config.json: sliding_window is 64 but the context in use is 65 tokens; tokendrift"
                + " attends to the whole context, which equals the model's sliding-window"
                + " attention only up to 64 tokens: use at most 64 tokens (prompt plus generated)");
    // Mistral v0.2+ checkpoints write null: no window.
    Path none = config(mistral + ", \"sliding_window\": null}");
    LlamaConfig.read(none).checkContext(1_000_000);
    // Qwen2 slides only with use_sliding_window, and only layers from max_window_layers on.
    String qwen = "{\"model_type\": \"qwen2\", " + MINIMAL + ", \"num_key_value_heads\": 2";
    assertThat(LlamaConfig.read(config(qwen + ", \"sliding_window\": 64}")).slidingWindow())
        .isNull();
    assertThat(
            LlamaConfig.read(
                    config(qwen + ", \"use_sliding_window\": true, \"sliding_window\": 64}"))
                .slidingWindow())
        .as("max_window_layers defaults to 28 >= 2 layers: no layer slides")
        .isNull();
    assertThat(
            LlamaConfig.read(
                    config(
                        qwen
                            + ", \"use_sliding_window\": true, \"sliding_window\": 64,"
                            + " \"max_window_layers\": 1}"))
                .slidingWindow())
        .isEqualTo(64);
  }

  // ---- weights ----

  @Test
  void singleFileCheckpointReadsBackExactly() throws Exception {
    LlamaConfig c = LlamaCheckpoints.LLAMA3_SCALED;
    LlamaCheckpoints.write(dir, c, 5);
    LlamaWeights w = LlamaWeights.read(dir, LlamaConfig.read(dir.resolve("config.json")));
    Map<String, Tensor> want = LlamaCheckpoints.randomTensors(c, 5, LlamaCheckpoints.F32);
    for (Map.Entry<String, long[]> e : LlamaWeights.expectedShapes(c)) {
      assertThat(w.get(e.getKey()).data())
          .as(e.getKey())
          .containsExactly(want.get("model." + e.getKey()).data());
    }
    assertThat(w.lmHead().data()).containsExactly(want.get(LlamaWeights.LM_HEAD).data());
    assertThat(w.get(LlamaWeights.layer(1, "self_attn.o_proj.bias")).shape()).containsExactly(32);
    assertThat(w.get(LlamaWeights.layer(1, "mlp.down_proj.bias")).shape()).containsExactly(32);
    assertThat(w.source()).isEqualTo(dir.resolve("model.safetensors"));
  }

  @Test
  void shardedCheckpointWithHalfAndBfloat16ReadsBackAsWritten() throws Exception {
    LlamaConfig c = LlamaCheckpoints.QWEN3;
    LlamaCheckpoints.write(dir, c, 9, 3, LlamaCheckpoints.MIXED);
    assertThat(dir.resolve(LlamaCheckpoints.shardName(3, 3))).exists();
    assertThat(dir.resolve("model.safetensors")).doesNotExist();
    LlamaWeights w = LlamaWeights.read(dir, c);
    Map<String, Tensor> want = LlamaCheckpoints.randomTensors(c, 9, LlamaCheckpoints.MIXED);
    for (Map.Entry<String, long[]> e : LlamaWeights.expectedShapes(c)) {
      assertThat(w.get(e.getKey()).data())
          .as(e.getKey())
          .containsExactly(want.get("model." + e.getKey()).data());
    }
    // BF16 values are float32 with the low 16 bits zero; F16 ones have at most 11 significant bits.
    for (float v : w.get(LlamaWeights.layer(0, "mlp.up_proj.weight")).data()) {
      assertThat(Float.floatToRawIntBits(v) & 0xFFFF).isZero();
    }
    for (float v : w.get(LlamaWeights.layer(0, "self_attn.k_proj.weight")).data()) {
      assertThat(Float.floatToRawIntBits(v) & 0x1FFF).isZero();
    }
    // Tied: the head is the embedding (read from its shard on demand, so an equal copy).
    assertThat(w.lmHead().name()).isEqualTo(w.embedding().name());
    assertThat(w.lmHead().data()).containsExactly(w.embedding().data());
    assertThat(w.source()).isEqualTo(dir.resolve("model.safetensors.index.json"));
  }

  @Test
  void halfPrecisionWritesRoundToNearestEven() throws Exception {
    // bfloat16 keeps 8 significant bits: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 and rounds
    // to the even 1; 1 + 3·2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6 and rounds to 1 + 2^-6.
    // Float32 subnormals too: 0x007F0000 is exact in bfloat16; 0x007F8000 lies halfway and
    // rounds to the even 0x0080, the smallest normal 2^-126.
    float sub = Float.intBitsToFloat(0x007F0000);
    float halfway = Float.intBitsToFloat(0x007F8000);
    float[] bf = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, 1 + 0x1p-8f + 0x1p-20f, -2.5f, sub, halfway};
    float[] bfWant = {1f, 1 + 0x1p-6f, 1 + 0x1p-7f, -2.5f, sub, 0x1p-126f};
    // binary16: 65519 rounds down to the largest half, 65520 (the midpoint) up to infinity;
    // 2^-25 is half the smallest subnormal and rounds to even 0, 3·2^-25 to 2^-23.
    float[] h = {65519f, 65520f, 0x1p-25f, 3 * 0x1p-25f, 1 + 0x1p-11f, -1 - 3 * 0x1p-11f};
    float[] hWant = {65504f, Float.POSITIVE_INFINITY, 0f, 0x1p-23f, 1f, -1 - 0x1p-9f};
    Path f = dir.resolve("h.safetensors");
    Safetensors.write(
        f,
        List.of(
            new Tensor("bf", new long[] {bf.length}, bf),
            new Tensor("h", new long[] {h.length}, h)),
        Map.of(),
        Map.of("bf", "BF16", "h", "F16"));
    Map<String, Tensor> back = Safetensors.read(f);
    assertThat(back.get("bf").data()).containsExactly(bfWant);
    assertThat(back.get("h").data()).containsExactly(hWant);
    for (int i = 0; i < bf.length; i++) {
      assertThat(Safetensors.toBf16Precision(bf[i])).isEqualTo(bfWant[i]);
    }
    for (int i = 0; i < h.length; i++) {
      assertThat(Safetensors.toF16Precision(h[i])).isEqualTo(hWant[i]);
    }
    // 2 bytes a value: header, then 6 + 6 values.
    long headerLen =
        java.nio.ByteBuffer.wrap(Files.readAllBytes(f), 0, 8)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .getLong();
    assertThat(Files.size(f)).isEqualTo(8 + headerLen + 2 * 12);
  }

  @Test
  void everyHalfValueRoundTripsAndMidpointsRoundToTheEvenNeighbour() {
    // A second method for the F16 writer: Half.toFloat (the reader) enumerates every value.
    for (int bits = 0; bits < 0x7C00; bits++) {
      float v = Half.toFloat((short) bits);
      float next = Half.toFloat((short) (bits + 1));
      assertThat(Safetensors.toF16Precision(v)).isEqualTo(v);
      assertThat(Safetensors.toF16Precision(-v)).isEqualTo(-v);
      // The midpoint is exact in float32 (halves have 11 significant bits).
      float mid = (float) (((double) v + next) / 2);
      float even = (bits & 1) == 0 ? v : next;
      assertThat(Safetensors.toF16Precision(mid)).as("midpoint above 0x%04x", bits).isEqualTo(even);
    }
  }

  @Test
  void aMissingShardIsNamedWithItsIndex() throws Exception {
    LlamaCheckpoints.write(dir, LlamaCheckpoints.QWEN2, 1, 2, LlamaCheckpoints.F32);
    Files.delete(dir.resolve(LlamaCheckpoints.shardName(2, 2)));
    Path index = dir.resolve("model.safetensors.index.json");
    assertThatThrownBy(() -> LlamaWeights.read(dir, LlamaCheckpoints.QWEN2))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageStartingWith(index + ": shard model-00002-of-00002.safetensors (holding '")
        .hasMessageEndingWith(") is missing from " + dir);
  }

  @Test
  void aTensorTheIndexPromisesButTheShardLacksIsNamed() throws Exception {
    LlamaConfig c = LlamaCheckpoints.QWEN2;
    LlamaCheckpoints.write(dir, c, 1, 2, LlamaCheckpoints.F32);
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(
        index,
        Files.readString(index)
            .replace(
                "\"model.norm.weight\" : \"model-00002-of-00002.safetensors\"",
                "\"model.norm.weight\" : \"model-00001-of-00002.safetensors\""));
    assertThatThrownBy(() -> LlamaWeights.read(dir, c))
        .hasMessage(
            index
                + ": weight_map puts 'model.norm.weight' in model-00001-of-00002.safetensors,"
                + " which lacks it");
  }

  @Test
  void wrongShapesAndMissingTensorsAreNamed() throws Exception {
    LlamaConfig gqa = LlamaCheckpoints.LLAMA_GQA;
    // The MHA checkpoint's k_proj has 4 kv heads of 8; the GQA config implies one.
    LlamaCheckpoints.write(dir, LlamaCheckpoints.LLAMA_MHA, 1);
    Path file = dir.resolve("model.safetensors");
    assertThatThrownBy(() -> LlamaWeights.read(dir, gqa))
        .hasMessage(
            file
                + ": tensor 'model.layers.0.self_attn.k_proj.weight' has shape [32, 32],"
                + " config.json implies [8, 32]");
    // The MHA checkpoint is tied: it has no lm_head for the untied config that is otherwise equal.
    LlamaConfig untied =
        LlamaCheckpoints.config(Family.LLAMA, 32, 4, 4, 8, 10_000, null, false, false, false, null);
    assertThatThrownBy(() -> LlamaWeights.read(dir, untied))
        .hasMessage(
            file
                + ": tensor 'lm_head.weight' is missing (config.json unties the head:"
                + " tie_word_embeddings is false)");
    LlamaConfig qwen2 =
        LlamaCheckpoints.config(Family.QWEN2, 32, 4, 4, 8, 10_000, null, true, false, false, null);
    assertThatThrownBy(() -> LlamaWeights.read(dir, qwen2))
        .hasMessage(file + ": tensor 'model.layers.0.self_attn.q_proj.bias' is missing");
    Path empty = dir.resolve("empty");
    Files.createDirectories(empty);
    assertThatThrownBy(() -> LlamaWeights.read(empty, gqa))
        .hasMessage(
            empty
                + ": no weights; expected model.safetensors or model.safetensors.index.json"
                + " (Hugging Face layout)");
  }

  // ---- the float64 reference ----

  @Test
  void rotaryEmbeddingRotatesFirstHalfAgainstSecondHalf() {
    Float64Llama f = new Float64Llama(LlamaCheckpoints.random(LlamaCheckpoints.LLAMA_GQA, 1));
    double[] e0 = new double[8];
    e0[0] = 1;
    assertThat(f.rope(e0, 0)).containsExactly(e0); // cos 0 = 1, sin 0 = 0: the identity
    // rotate_half pairs dimension i with i + 4 (interleaved RoPE would pair 0 with 1).
    double f0 = (float) 1.0; // inv_freq[0] = 1 / 10000^0
    // within(0.0): +0.0 and -0.0 (0 times a negative cosine) are the same value here.
    assertThat(f.rope(e0, 3))
        .containsExactly(
            new double[] {Math.cos(3 * f0), 0, 0, 0, Math.sin(3 * f0), 0, 0, 0}, within(0.0));
    double[] e5 = new double[8];
    e5[5] = 1;
    double f1 = (float) Math.pow(10_000, -0.25); // inv_freq[1] = 1 / 10000^(2/8)
    assertThat(f.rope(e5, 2))
        .containsExactly(
            new double[] {0, -Math.sin(2 * f1), 0, 0, 0, Math.cos(2 * f1), 0, 0}, within(0.0));
    // Rotations: q(p)·k(p') depends on p - p' only.
    double[] q = {0.3, -1.2, 0.5, 2.0, -0.7, 0.1, 1.1, -0.4};
    double[] k = {1.0, 0.2, -0.3, 0.8, 0.6, -1.5, 0.9, 0.05};
    assertThat(dot(f.rope(q, 7), f.rope(k, 3)))
        .isCloseTo(dot(f.rope(q, 24), f.rope(k, 20)), within(1e-12));
  }

  @Test
  void llama3FrequenciesMatchTheConfigsAndKeepInterpolateAndDivide() {
    LlamaConfig c = LlamaCheckpoints.LLAMA3_SCALED;
    double[] scaled = Float64Llama.inverseFrequencies(c);
    float[] fromConfig = c.ropeInverseFrequencies();
    for (int i = 0; i < scaled.length; i++) {
      assertThat(scaled[i]).as("inv_freq[%d]", i).isEqualTo((double) fromConfig[i]);
    }
    LlamaConfig plainConfig =
        LlamaCheckpoints.config(Family.LLAMA, 32, 4, 2, 8, 500_000, null, false, true, true, null);
    double[] plain = Float64Llama.inverseFrequencies(plainConfig);
    // Wavelengths 6.3 < 64: kept; 4443 and 118,000 > 256: divided by 8 (exact: a power of two).
    assertThat(scaled[0]).isEqualTo(plain[0]);
    assertThat(scaled[2]).isEqualTo(plain[2] / 8);
    assertThat(scaled[3]).isEqualTo(plain[3] / 8);
    // 167 lies between: strictly between the kept and the divided value.
    assertThat(scaled[1]).isStrictlyBetween(plain[1] / 8, plain[1]);
    // Factor 1: (1 - s)·f/1 + s·f = f in every regime, up to one float32 rounding step.
    LlamaConfig factorOne =
        LlamaCheckpoints.config(
            Family.LLAMA,
            32,
            4,
            2,
            8,
            500_000,
            new Llama3Scaling(1, 1, 4, 256),
            false,
            true,
            true,
            null);
    double[] one = Float64Llama.inverseFrequencies(factorOne);
    for (int i = 0; i < one.length; i++) {
      assertThat(one[i]).isCloseTo(plain[i], within((double) Math.ulp((float) plain[i])));
    }
  }

  @Test
  void zeroedBlocksLeaveTheHeadOverTheNormedEmbedding() {
    // With o_proj and down_proj zero, no layer adds anything: logits = E · (g ⊙ e / rms(e)).
    LlamaConfig c = LlamaCheckpoints.LLAMA_MHA; // tied: the head is the embedding E
    Map<String, Tensor> t = LlamaCheckpoints.randomTensors(c, 4, LlamaCheckpoints.F32);
    for (int i = 0; i < c.layers(); i++) {
      zero(t, "model." + LlamaWeights.layer(i, "self_attn.o_proj.weight"));
      zero(t, "model." + LlamaWeights.layer(i, "mlp.down_proj.weight"));
    }
    Float64Llama f = new Float64Llama(LlamaWeights.of(t, c, Path.of("<zeroed>")));
    int token = 77;
    double[] got = f.logits(new int[][] {{5, 900, token}})[0];
    float[] e = t.get("model.embed_tokens.weight").data();
    float[] g = t.get("model.norm.weight").data();
    int h = c.hiddenSize();
    double ms = 0;
    for (int j = 0; j < h; j++) {
      ms += (double) e[token * h + j] * e[token * h + j];
    }
    double inv = 1 / Math.sqrt(ms / h + 1e-6);
    for (int v = 0; v < c.vocabSize(); v += 97) {
      double want = 0;
      for (int j = 0; j < h; j++) {
        want += (double) e[v * h + j] * g[j] * e[token * h + j] * inv;
      }
      assertThat(got[v]).as("logit %d", v).isCloseTo(want, within(1e-12));
    }
  }

  @Test
  void zeroQueriesAverageTheValuesOfEveryEarlierToken() {
    // Layer 0: q = 0 makes every score 0, so attention is the plain mean over positions 0..t;
    // v = the first 8 coordinates of the normed input, o = identity, and with GQA 4:1 all four
    // query heads read that one kv head: x_t += [m, m, m, m], m = mean_j n_j[0..8). MLPs and
    // layer 1 are zeroed.
    LlamaConfig c = LlamaCheckpoints.LLAMA_GQA;
    Map<String, Tensor> t = LlamaCheckpoints.randomTensors(c, 8, LlamaCheckpoints.F32);
    zero(t, "model.layers.0.self_attn.q_proj.weight");
    float[] v = t.get("model.layers.0.self_attn.v_proj.weight").data(); // [8, 32]
    java.util.Arrays.fill(v, 0);
    for (int i = 0; i < 8; i++) {
      v[i * 32 + i] = 1;
    }
    float[] o = t.get("model.layers.0.self_attn.o_proj.weight").data(); // [32, 32]
    java.util.Arrays.fill(o, 0);
    for (int i = 0; i < 32; i++) {
      o[i * 32 + i] = 1;
    }
    for (String name :
        List.of(
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.1.self_attn.o_proj.weight",
            "model.layers.1.mlp.down_proj.weight")) {
      zero(t, name);
    }
    Float64Llama f = new Float64Llama(LlamaWeights.of(t, c, Path.of("<hand>")));
    int[] tokens = {3, 141, 59, 265};
    double[] got = f.logits(new int[][] {tokens})[0];
    float[] e = t.get("model.embed_tokens.weight").data();
    float[] g0 = t.get("model.layers.0.input_layernorm.weight").data();
    double[] mean = new double[8];
    for (int tok : tokens) {
      double[] n = norm(e, tok * 32, g0);
      for (int i = 0; i < 8; i++) {
        mean[i] += n[i] / tokens.length;
      }
    }
    double[] x = new double[32];
    for (int j = 0; j < 32; j++) {
      x[j] = e[tokens[3] * 32 + j] + mean[j % 8];
    }
    double[] hFinal = normD(x, t.get("model.norm.weight").data());
    float[] head = t.get("lm_head.weight").data();
    for (int w = 0; w < c.vocabSize(); w += 101) {
      double want = 0;
      for (int j = 0; j < 32; j++) {
        want += head[w * 32 + j] * hFinal[j];
      }
      assertThat(got[w]).as("logit %d", w).isCloseTo(want, within(1e-12));
    }
  }

  @Test
  void groupedQueryAttentionEqualsDuplicatedKeyValueHeads() {
    // repeat_kv: a model with kvHeads < heads equals the one whose kv head h holds the rows the
    // first model's query head h reads (kv head h / groups), biases and Qwen3's k_norm alike.
    for (LlamaConfig grouped :
        List.of(
            LlamaCheckpoints.LLAMA_GQA,
            LlamaCheckpoints.LLAMA3_SCALED,
            LlamaCheckpoints.QWEN2,
            LlamaCheckpoints.QWEN3)) {
      LlamaConfig full =
          new LlamaConfig(
              grouped.family(),
              grouped.vocabSize(),
              grouped.hiddenSize(),
              grouped.intermediateSize(),
              grouped.layers(),
              grouped.heads(),
              grouped.heads(),
              grouped.headDim(),
              grouped.rmsNormEps(),
              grouped.ropeTheta(),
              grouped.ropeScaling(),
              grouped.maxPositionEmbeddings(),
              grouped.tiedHead(),
              grouped.attentionBias(),
              grouped.mlpBias(),
              grouped.slidingWindow(),
              grouped.bosTokenId(),
              grouped.eosTokenIds());
      Map<String, Tensor> g = LlamaCheckpoints.randomTensors(grouped, 3, LlamaCheckpoints.F32);
      Map<String, Tensor> d = new LinkedHashMap<>(g);
      for (String name : g.keySet()) {
        if (name.contains(".k_proj.") || name.contains(".v_proj.")) {
          d.put(name, repeatKv(g.get(name), grouped));
        }
      }
      int[][] rows = {{1, 2, 3, 4, 5, 6, 7}, {900, 13, 1212}};
      double[][] a = new Float64Llama(LlamaWeights.of(g, grouped, Path.of("<g>"))).logits(rows);
      double[][] b = new Float64Llama(LlamaWeights.of(d, full, Path.of("<d>"))).logits(rows);
      for (int r = 0; r < rows.length; r++) {
        assertThat(b[r]).as(grouped.modelType()).containsExactly(a[r], within(1e-12));
      }
    }
  }

  @Test
  void aLeftPaddedRowHasTheLogitsOfTheRowAlone() {
    for (LlamaConfig c : LlamaCheckpoints.ALL) {
      Float64Llama f = new Float64Llama(LlamaCheckpoints.random(c, 11));
      int[] shortRow = {42, 7, 1000};
      double[][] batch = f.logits(new int[][] {{9, 8, 7, 6, 5, 4}, shortRow});
      double[] alone = f.logits(new int[][] {shortRow})[0];
      // Padding is masked out and positions restart at the first real token, so the same sums
      // run in the same order: equal to the bit.
      assertThat(batch[1]).as(c.modelType()).containsExactly(alone);
      // Whatever the pad token is.
      int[][] padded = {{0, 0, 0, 42, 7, 1000}, {1212, 1212, 1212, 42, 7, 1000}};
      boolean[][] mask = {
        {false, false, false, true, true, true}, {false, false, false, true, true, true}
      };
      double[][] p = f.logits(padded, mask);
      assertThat(p[0]).containsExactly(alone);
      assertThat(p[1]).containsExactly(alone);
      // And a position shift does change them: RoPE is in play (positions 3.. instead of 0..).
      double[] shifted = f.logits(new int[][] {{0, 0, 0, 42, 7, 1000}})[0];
      assertThat(maxDiff(shifted, alone)).isGreaterThan(1e-6);
    }
  }

  @Test
  void theKvCacheGivesTheLogitsOfAFullRecomputation() {
    for (LlamaConfig c : LlamaCheckpoints.ALL) {
      Float64Llama f = new Float64Llama(LlamaCheckpoints.random(c, 21));
      int[] tokens = {17, 600, 3, 3, 1100, 52, 9};
      double[][] full = f.allLogits(tokens);
      Float64Llama.Decoder d = f.decoder();
      for (int i = 0; i < tokens.length; i++) {
        assertThat(d.append(tokens[i]))
            .as("%s position %d", c.modelType(), i)
            .containsExactly(full[i]);
      }
      // Causal: later tokens never change earlier logits.
      int[] changed = tokens.clone();
      changed[6] = 1000;
      assertThat(f.allLogits(changed)[5]).containsExactly(full[5]);
    }
  }

  @Test
  void batchedGreedyDecodingEqualsEachRowDecodedAlone() {
    for (LlamaConfig c : List.of(LlamaCheckpoints.LLAMA3_SCALED, LlamaCheckpoints.QWEN3)) {
      Float64Llama f = new Float64Llama(LlamaCheckpoints.random(c, 31));
      int[][] prompts = {{5, 6, 7, 8, 9}, {400}, {1212, 3}};
      int[][] batch = f.greedyBatch(prompts, 6);
      for (int b = 0; b < prompts.length; b++) {
        assertThat(batch[b])
            .as(c.modelType() + " row " + b)
            .containsExactly(f.greedy(prompts[b], 6));
      }
    }
  }

  @Test
  void weightsReadFromFilesGiveTheLogitsOfTheWeightsInMemory() throws Exception {
    LlamaConfig c = LlamaCheckpoints.LLAMA3_SCALED;
    LlamaCheckpoints.write(dir, c, 13, 4, LlamaCheckpoints.MIXED);
    Float64Llama read =
        new Float64Llama(LlamaWeights.read(dir, LlamaConfig.read(dir.resolve("config.json"))));
    Float64Llama memory = new Float64Llama(LlamaCheckpoints.random(c, 13, LlamaCheckpoints.MIXED));
    int[][] rows = {{1, 2, 3}, {700, 800}};
    double[][] a = read.logits(rows);
    double[][] b = memory.logits(rows);
    for (int r = 0; r < rows.length; r++) {
      assertThat(a[r]).containsExactly(b[r]);
      // Logits are O(1), as the weight scales intend: neither vanishing nor saturating.
      double max = 0;
      for (double v : a[r]) {
        max = Math.max(max, Math.abs(v));
      }
      assertThat(max).isBetween(0.5, 50.0);
    }
  }

  @Test
  void theReferenceRefusesContextsBeyondTheSlidingWindow() {
    Float64Llama f = new Float64Llama(LlamaCheckpoints.random(LlamaCheckpoints.MISTRAL, 2));
    int[] tokens = new int[65];
    assertThatThrownBy(() -> f.logits(new int[][] {tokens}))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageStartingWith("config.json: sliding_window is 64 but the context in use is 65");
  }

  @Test
  void bundledTokenizerCanCompleteAModelFolder() throws Exception {
    LlamaCheckpoints.write(dir, LlamaCheckpoints.QWEN2, 1);
    LlamaCheckpoints.copyBundledTokenizer(dir, LlamaCheckpoints.QWEN2);
    assertThat(dir.resolve("tokenizer.json"))
        .hasSameBinaryContentAs(BundledModel.dir().resolve("tokenizer.json"));
  }

  private static Tensor repeatKv(Tensor t, LlamaConfig grouped) {
    int hd = grouped.headDim();
    int rowLen = t.shape().length == 2 ? (int) t.shape()[1] : 1;
    int heads = grouped.heads();
    float[] out = new float[heads * hd * rowLen];
    for (int h = 0; h < heads; h++) {
      int kv = h / grouped.kvGroups();
      System.arraycopy(t.data(), kv * hd * rowLen, out, h * hd * rowLen, hd * rowLen);
    }
    long[] shape = t.shape().clone();
    shape[0] = (long) heads * hd;
    return new Tensor(t.name(), shape, out);
  }

  private static void zero(Map<String, Tensor> t, String name) {
    java.util.Arrays.fill(t.get(name).data(), 0);
  }

  private static double[] norm(float[] e, int off, float[] g) {
    double[] x = new double[g.length];
    for (int j = 0; j < g.length; j++) {
      x[j] = e[off + j];
    }
    return normD(x, g);
  }

  private static double[] normD(double[] x, float[] g) {
    double ms = 0;
    for (double v : x) {
      ms += v * v;
    }
    double inv = 1 / Math.sqrt(ms / x.length + 1e-6);
    double[] out = new double[x.length];
    for (int j = 0; j < x.length; j++) {
      out[j] = g[j] * x[j] * inv;
    }
    return out;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  private static double maxDiff(double[] a, double[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }
}
