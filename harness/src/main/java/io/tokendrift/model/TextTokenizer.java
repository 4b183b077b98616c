package io.tokendrift.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A Hugging Face {@code tokenizer.json} loaded through DJL's tokenizers binding, with truncation,
 * padding and special tokens off: the prompt's ids are exactly its text's, however long.
 */
public final class TextTokenizer implements AutoCloseable {
  static {
    Offline.ensure(); // before DJL's tokenizer library first loads
  }

  private final HuggingFaceTokenizer tokenizer;

  private TextTokenizer(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Loads {@code tokenizer.json}. */
  public static TextTokenizer load(Path file) {
    try {
      return new TextTokenizer(
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(file)
              .optAddSpecialTokens(false)
              .optTruncation(false)
              .optPadding(false)
              .build());
    } catch (IOException | RuntimeException e) {
      throw new ModelFormatException(file + ": cannot load tokenizer: " + e.getMessage(), e);
    }
  }

  /** Token ids of {@code text}. */
  public int[] encode(String text) {
    long[] ids = tokenizer.encode(text, false, false).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  public String decode(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, false);
  }

  /** Text of one token, as it would print inside a longer text. */
  public String tokenText(int id) {
    return decode(new int[] {id});
  }

  /** The truncation strategy in force (DO_NOT_TRUNCATE). */
  public String truncation() {
    return tokenizer.getTruncation();
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
