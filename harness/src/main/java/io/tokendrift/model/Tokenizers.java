package io.tokendrift.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;

/** Which BOS token a model folder's tokenizer puts before a prompt. */
final class Tokenizers {
  private Tokenizers() {}

  /**
   * The id to prepend to every encoded prompt, or -1. GPT-2 adds none. Otherwise, as Hugging Face
   * tokenizers do: {@code tokenizer_config.json}'s {@code add_bos_token} when it says (true: the
   * config's {@code bos_token_id}); else {@code tokenizer.json}'s post-processor when its
   * single-sequence template starts with a special token (Llama 3's {@code <|begin_of_text|>});
   * else none (Qwen).
   */
  static int bosToPrepend(ModelDir dir) {
    if (!(dir.config() instanceof LlamaConfig c)) {
      return -1;
    }
    Path tc = dir.dir().resolve(ModelDir.TOKENIZER_CONFIG);
    if (Files.isRegularFile(tc)) {
      JsonNode add = LlamaConfigReader.parse(tc).get("add_bos_token");
      if (add != null && add.isBoolean()) {
        if (!add.asBoolean()) {
          return -1;
        }
        if (c.bosTokenId() < 0) {
          throw new ModelFormatException(
              tc + ": add_bos_token is true but config.json names no bos_token_id");
        }
        return c.bosTokenId();
      }
    }
    JsonNode post =
        LlamaConfigReader.parse(dir.dir().resolve(ModelDir.TOKENIZER)).path("post_processor");
    JsonNode single = post.path("single");
    if ("TemplateProcessing".equals(post.path("type").asText()) && single.isArray()) {
      JsonNode first = single.path(0).path("SpecialToken");
      if (!first.isMissingNode()) {
        JsonNode ids = post.path("special_tokens").path(first.path("id").asText()).path("ids");
        if (ids.isArray() && ids.size() == 1) {
          return ids.get(0).asInt();
        }
      }
    }
    return -1;
  }
}
