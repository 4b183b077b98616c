package io.tokendrift.engine;

import java.util.Locale;

/** Floating-point format of weights and activations. */
public enum Precision {
  FP32,
  FP16,
  /**
   * Refused: DJL 0.36 aborts the JVM on any BFLOAT16 operation. Listed so the refusal is explicit.
   */
  BF16;

  /**
   * Parses {@code fp32} or {@code fp16}; refuses {@code bf16} and anything else with the reason.
   */
  public static Precision parse(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "fp32", "float32" -> FP32;
      case "fp16", "float16", "half" -> FP16;
      case "bf16", "bfloat16" ->
          throw new IllegalArgumentException(
              "precision 'bf16' is not supported by the DJL engine: DJL 0.36 aborts the JVM on"
                  + " BFLOAT16; allowed: fp32, fp16");
      default ->
          throw new IllegalArgumentException(
              "precision '" + s + "' is not known; allowed: fp32, fp16");
    };
  }

  /** The lower-case name used in specs and traces. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
