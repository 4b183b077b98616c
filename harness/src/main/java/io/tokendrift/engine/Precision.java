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
  BF16,
  /**
   * float64: the DJL engine on CPU computes every operation in it — the truth the other precisions
   * are measured against (the micro-ties' float64 margins are its margins).
   */
  FP64;

  /** Parses {@code fp32}, {@code fp16}, {@code bf16} or {@code fp64}; refuses anything else. */
  public static Precision parse(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "fp32", "float32" -> FP32;
      case "fp16", "float16", "half" -> FP16;
      case "bf16", "bfloat16" -> BF16;
      case "fp64", "float64", "double" -> FP64;
      default ->
          throw new IllegalArgumentException(
              "precision '" + s + "' is not known; allowed: fp32, fp16, bf16, fp64");
    };
  }

  /** The lower-case name used in specs and traces. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
