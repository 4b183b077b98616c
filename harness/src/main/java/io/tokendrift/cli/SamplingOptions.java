package io.tokendrift.cli;

import io.tokendrift.decode.DrawMethod;
import io.tokendrift.decode.SamplingSettings;
import picocli.CommandLine.Option;

/**
 * The sampling flags shared by every command that samples; temperature stays per command (its
 * default differs).
 */
final class SamplingOptions {
  @Option(
      names = "--top-k",
      defaultValue = "0",
      description = "Keep tokens not below the k-th largest logit; 0 disables (default: 0).")
  int topK;

  @Option(
      names = "--top-p",
      defaultValue = "1",
      description = "Nucleus mass in (0, 1]; 1 disables (default: 1).")
  double topP;

  @Option(
      names = "--method",
      defaultValue = "INVERSE_CDF",
      description = "Draw method: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
  DrawMethod method;

  @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: 0).")
  long seed;

  /** The validated settings at {@code temperature}. */
  SamplingSettings settings(double temperature) {
    return new SamplingSettings(temperature, topK, topP, method);
  }
}
