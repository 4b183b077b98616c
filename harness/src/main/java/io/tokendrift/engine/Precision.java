package io.tokendrift.engine;

import java.util.Locale;

/** Floating-point format of weights and activations. */
public enum Precision {
  FP32,
  FP16,
  /**
   * bfloat16: the torch engine computes in it; the DJL engine refuses it (DJL 0.36 aborts the JVM
   * on any BFLOAT16 operation).
   */
  BF16;

  /** Parses {@code fp32}, {@code fp16} or {@code bf16}; refuses anything else, listing them. */
  public static Precision parse(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "fp32", "float32" -> FP32;
      case "fp16", "float16", "half" -> FP16;
      case "bf16", "bfloat16" -> BF16;
      default ->
          throw new IllegalArgumentException(
              "precision '" + s + "' is not known; allowed: fp32, fp16, bf16");
    };
  }

  /** The lower-case name used in specs and traces. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
