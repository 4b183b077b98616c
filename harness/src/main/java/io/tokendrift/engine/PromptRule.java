package io.tokendrift.engine;

import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.ModelConfig;
import java.util.List;

/**
 * The one rule every local engine applies to the sequences a batch starts with, worded once: a
 * prompt holds at least one token, every id is in the vocabulary, and it leaves the context room
 * for one more token — except a sequence recomputed without a KV cache, which may fill the context
 * (its last token is then chosen at the full context, as a cached batch chooses it). The torch
 * worker and {@code serve} check the same before any work.
 */
public final class PromptRule {
  private PromptRule() {}

  /** Whether a prompt of {@code length} tokens is too long for {@code context}. */
  public static boolean tooLong(int length, int context, boolean mayFill) {
    return length > context || (!mayFill && length == context);
  }

  /**
   * Refuses the first prompt that breaks the rule for {@code config}'s vocabulary and context
   * (named as its config file names it: GPT-2's {@code n_positions}).
   *
   * @param firstRow the batch row of {@code prompts.get(0)} (rows joining a running batch)
   */
  public static void check(List<int[]> prompts, int firstRow, ModelConfig config, boolean mayFill) {
    check(
        prompts,
        firstRow,
        config.vocabSize(),
        config.contextLength(),
        mayFill,
        config instanceof Gpt2Config ? "n_positions" : null);
  }

  /**
   * Refuses the first prompt that breaks the rule.
   *
   * @param contextName how the model's config names its context, for the message ("n_positions")
   * @throws IllegalArgumentException naming the row, the position and what is allowed
   */
  private static void check(
      List<int[]> prompts,
      int firstRow,
      int vocab,
      int context,
      boolean mayFill,
      String contextName) {
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one prompt");
    }
    for (int i = 0; i < prompts.size(); i++) {
      int row = firstRow + i;
      int[] p = prompts.get(i);
      if (p.length == 0) {
        throw new IllegalArgumentException(
            "prompt of row " + row + " is empty; it needs at least one token");
      }
      if (tooLong(p.length, context, mayFill)) {
        throw new IllegalArgumentException(
            "prompt of row "
                + row
                + " has "
                + p.length
                + " tokens; the model's context holds "
                + context
                + (contextName == null ? "" : " (" + contextName + ")")
                + (mayFill ? "" : ", and at least one more is needed to generate"));
      }
      for (int j = 0; j < p.length; j++) {
        if (p[j] < 0 || p[j] >= vocab) {
          throw new IllegalArgumentException(
              "prompt of row "
                  + row
                  + ", position "
                  + j
                  + ": token id "
                  + p[j]
                  + " is outside the vocabulary [0, "
                  + vocab
                  + ")");
        }
      }
    }
  }
}
