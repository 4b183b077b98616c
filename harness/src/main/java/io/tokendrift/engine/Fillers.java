package io.tokendrift.engine;

import java.util.List;

/**
 * Prompts that fill batch rows around the prompt under test when there are not enough of the
 * experiment's own: different lengths, so padding and masks are exercised.
 */
public final class Fillers {
  private Fillers() {}

  public static final List<String> TEXTS =
      List.of(
          "Once upon a time",
          "The quick brown fox jumps over the lazy dog.",
          "A list of colours: red, green,",
          "Human: hello\nAssistant:",
          "Water boils at",
          "In the beginning the garden was quiet, and the old gardener walked slowly between the rows",
          "One, two, three,");
}
