package io.tokendrift.model;

import static io.tokendrift.model.GgufFile.TYPE_ARRAY;
import static io.tokendrift.model.GgufFile.TYPE_STRING;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.model.GgufFile.Kv;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A byte-level BPE {@code tokenizer.json} as GGUF's {@code tokenizer.ggml.*} metadata. */
final class GgufTokenizer {
  private GgufTokenizer() {}

  /**
   * The byte-level BPE tokenizer: tokens by id (ids the file leaves out, as a vocabulary padded to
   * a round size, become {@code [PADn]} of type unused, as llama.cpp's converter writes them),
   * their types, the merges.
   *
   * @param pre llama.cpp's name of the pre-tokenizer's split ({@link #preTokenizer})
   */
  static void write(Path file, int vocabSize, String pre, List<Kv> kv) throws IOException {
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    JsonNode model = root.path("model");
    if (!"BPE".equals(model.path("type").asText()) || model.path("byte_fallback").asBoolean()) {
      throw new ModelFormatException(
          file
              + ": GGUF export writes byte-level BPE tokenizers (GPT-2, Llama 3, Qwen); this one"
              + " is "
              + (model.path("byte_fallback").asBoolean()
                  ? "a SentencePiece-style BPE with byte fallback (Llama 2, Mistral v0.1)"
                  : "of type '" + model.path("type").asText() + "'"));
    }
    String[] tokens = new String[vocabSize];
    model
        .path("vocab")
        .fields()
        .forEachRemaining(e -> put(tokens, e.getValue().asInt(), e.getKey(), file));
    int[] types = new int[tokens.length];
    java.util.Arrays.fill(types, 1); // normal
    for (JsonNode a : root.path("added_tokens")) {
      put(tokens, a.path("id").asInt(), a.path("content").asText(), file);
      types[a.path("id").asInt()] = a.path("special").asBoolean() ? 3 : 4; // control, user-defined
    }
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i] == null) {
        tokens[i] = "[PAD" + i + "]";
        types[i] = 5; // unused
      }
    }
    List<String> merges = new ArrayList<>();
    for (JsonNode m : model.path("merges")) {
      merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
    }
    kv.add(new Kv("tokenizer.ggml.model", TYPE_STRING, "gpt2"));
    kv.add(new Kv("tokenizer.ggml.pre", TYPE_STRING, pre));
    kv.add(new Kv("tokenizer.ggml.tokens", TYPE_ARRAY, List.of(tokens)));
    kv.add(new Kv("tokenizer.ggml.token_type", TYPE_ARRAY, types));
    kv.add(new Kv("tokenizer.ggml.merges", TYPE_ARRAY, merges));
  }

  /** Llama 3's split before byte-level BPE (tokenizer.json's Split pattern). */
  static final String LLAMA3_SPLIT =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /** Qwen2's (and Qwen3's): Llama 3's with single digits. */
  static final String QWEN2_SPLIT =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /**
   * llama.cpp's name for the way {@code tokenizer.json} splits text before BPE ({@code
   * tokenizer.ggml.pre}): {@code gpt-2} for a bare ByteLevel pre-tokenizer (GPT-2's own regex),
   * {@code llama-bpe} for Llama 3's Split pattern, {@code qwen2} for Qwen's; any other is refused,
   * since llama.cpp would split it differently and tokenize prompts otherwise.
   */
  static String preTokenizer(Path file) throws IOException {
    JsonNode pre = new ObjectMapper().readTree(file.toFile()).path("pre_tokenizer");
    if ("ByteLevel".equals(pre.path("type").asText()) && pre.path("use_regex").asBoolean(true)) {
      return "gpt-2";
    }
    if ("Sequence".equals(pre.path("type").asText())) {
      for (JsonNode p : pre.path("pretokenizers")) {
        if ("Split".equals(p.path("type").asText())) {
          String regex = p.path("pattern").path("Regex").asText();
          if (regex.equals(LLAMA3_SPLIT)) {
            return "llama-bpe";
          }
          if (regex.equals(QWEN2_SPLIT)) {
            return "qwen2";
          }
          throw new ModelFormatException(
              file
                  + ": pre_tokenizer splits by the pattern "
                  + regex
                  + "; GGUF export knows GPT-2's, Llama 3's and Qwen2's (llama.cpp would split"
                  + " another pattern differently)");
        }
      }
    }
    throw new ModelFormatException(
        file
            + ": pre_tokenizer of type '"
            + pre.path("type").asText()
            + "'; GGUF export knows GPT-2's ByteLevel, and Llama 3's and Qwen2's Split patterns");
  }

  private static void put(String[] tokens, int id, String text, Path file) {
    if (id < 0 || id >= tokens.length) {
      throw new ModelFormatException(
          file
              + ": token '"
              + text
              + "' has id "
              + id
              + ", outside the vocabulary of "
              + tokens.length);
    }
    tokens[id] = text;
  }
}
