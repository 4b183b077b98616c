package io.tokendrift.decode;

/** Sees every step's logits (before sampling touched anything) and the choice made from them. */
@FunctionalInterface
public interface StepObserver {
  /** Ignores every step. */
  StepObserver NONE = (step, logits, choice) -> {};

  /** Called once per step, after the choice and before the next forward pass. */
  void onStep(int step, float[] logits, Choice choice);
}
