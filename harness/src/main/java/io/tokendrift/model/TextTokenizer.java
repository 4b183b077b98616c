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
  private final int bos;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, int bos) {
    this.tokenizer = tokenizer;
    this.bos = bos;
  }

  /** Loads {@code tokenizer.json}. */
  public static TextTokenizer load(Path file) {
    return load(file, -1);
  }

  /**
   * Loads {@code tokenizer.json}; every encoded text starts with {@code bos} when it is not -1 (the
   * model's beginning-of-sequence token, as its own tokenizer adds it).
   */
  public static TextTokenizer load(Path file, int bos) {
    try {
      return new TextTokenizer(
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(file)
              .optAddSpecialTokens(false)
              .optTruncation(false)
              .optPadding(false)
              .build(),
          bos);
    } catch (IOException | RuntimeException e) {
      throw new ModelFormatException(file + ": cannot load tokenizer: " + e.getMessage(), e);
    }
  }

  /** The BOS id every encoding starts with, or -1. */
  public int bos() {
    return bos;
  }

  /** Token ids of {@code text} (after the BOS token when the model's tokenizer adds one). */
  public int[] encode(String text) {
    long[] ids = tokenizer.encode(text, false, false).getIds();
    int first = bos >= 0 ? 1 : 0;
    int[] out = new int[ids.length + first];
    if (bos >= 0) {
      out[0] = bos;
    }
    for (int i = 0; i < ids.length; i++) {
      out[first + i] = (int) ids[i];
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
