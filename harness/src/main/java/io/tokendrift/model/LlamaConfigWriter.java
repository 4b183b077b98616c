package io.tokendrift.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.model.LlamaConfig.Family;
import java.io.IOException;

/** Writes a {@link LlamaConfig} as the {@code config.json} transformers loads. */
final class LlamaConfigWriter {
  private LlamaConfigWriter() {}

  /** {@code c} as a {@code config.json} that transformers' {@code AutoModelForCausalLM} loads. */
  static String toJson(LlamaConfig c) {
    ObjectMapper m = new ObjectMapper();
    ObjectNode n = m.createObjectNode();
    n.put("model_type", c.family().modelType());
    n.putArray("architectures").add(c.family().architecture());
    n.put("vocab_size", c.vocabSize());
    n.put("hidden_size", c.hiddenSize());
    n.put("intermediate_size", c.intermediateSize());
    n.put("num_hidden_layers", c.layers());
    n.put("num_attention_heads", c.heads());
    n.put("num_key_value_heads", c.kvHeads());
    n.put("head_dim", c.headDim());
    n.put("hidden_act", "silu");
    n.put("rms_norm_eps", c.rmsNormEps());
    n.put("rope_theta", c.ropeTheta());
    if (c.ropeScaling() == null) {
      n.putNull("rope_scaling");
    } else {
      ObjectNode r = n.putObject("rope_scaling");
      r.put("rope_type", "llama3");
      r.put("factor", c.ropeScaling().factor());
      r.put("low_freq_factor", c.ropeScaling().lowFreqFactor());
      r.put("high_freq_factor", c.ropeScaling().highFreqFactor());
      r.put("original_max_position_embeddings", c.ropeScaling().originalMaxPositionEmbeddings());
    }
    n.put("max_position_embeddings", c.maxPositionEmbeddings());
    n.put("tie_word_embeddings", c.tiedHead());
    switch (c.family()) {
      case LLAMA -> {
        n.put("attention_bias", c.attentionBias());
        n.put("mlp_bias", c.mlpBias());
      }
      // An explicit null: MistralConfig's default for an absent field is 4096.
      case MISTRAL -> putWindow(n, "sliding_window", c.slidingWindow());
      case QWEN2, QWEN3 -> {
        if (c.family() == Family.QWEN3) {
          n.put("attention_bias", c.attentionBias());
        }
        n.put("use_sliding_window", c.slidingWindow() != null);
        putWindow(n, "sliding_window", c.slidingWindow());
        // Every layer slides when the window is on: the one layout the record describes.
        n.put("max_window_layers", 0);
      }
    }
    if (c.bosTokenId() >= 0) {
      n.put("bos_token_id", c.bosTokenId());
    } else {
      n.putNull("bos_token_id");
    }
    if (c.eosTokenIds().size() == 1) {
      n.put("eos_token_id", c.eosTokenIds().get(0));
    } else if (c.eosTokenIds().isEmpty()) {
      n.putNull("eos_token_id");
    } else {
      ArrayNode a = n.putArray("eos_token_id");
      for (int id : c.eosTokenIds()) {
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
}
