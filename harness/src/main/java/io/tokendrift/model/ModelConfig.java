package io.tokendrift.model;

import java.util.Set;

/**
 * What every decoder family's {@code config.json} says that the rest of tokendrift needs: the
 * vocabulary, the context, the end-of-sequence ids and which family it is.
 */
public sealed interface ModelConfig permits Gpt2Config, LlamaConfig {
  /** Tokens in the vocabulary (the logit vector's length). */
  int vocabSize();

  /** Positions a sequence (prompt plus generated tokens) may use. */
  int contextLength();

  /** Ids that end a sequence (possibly none). */
  Set<Integer> eosIds();

  /** The {@code model_type}: gpt2, llama, mistral, qwen2 or qwen3. */
  String modelType();
}
