package io.tokendrift.decode;

/** Sees every step's logits (before sampling touched anything) and the choice made from them. */
@FunctionalInterface
public interface StepObserver {
  /** Ignores every step. */
  StepObserver NONE = (step, logits, choice) -> {};

  /** Called once per step, after the choice and before the next forward pass. */
  void onStep(int step, float[] logits, Choice choice);

  /**
   * As {@link #onStep(int, float[], Choice)}, with the logits in float64 when the engine computes
   * in it ({@code logits} then holds them rounded); by default the float64 values are ignored.
   */
  default void onStep(int step, float[] logits, double[] exact, Choice choice) {
    onStep(step, logits, choice);
  }
}
