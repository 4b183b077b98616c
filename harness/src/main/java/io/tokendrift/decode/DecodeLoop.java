package io.tokendrift.decode;

import java.util.function.LongSupplier;

/** Generates one run from a {@link LogitSource}: prefill, then choose and step until a stop. */
public final class DecodeLoop {
  private DecodeLoop() {}

  /**
   * Runs one generation.
   *
   * @param runId the run's identity, mixed into the draws
   * @param observer sees each step's logits before the next forward pass
   */
  public static Completion run(
      LogitSource model,
      int[] prompt,
      DecodeSettings settings,
      long runId,
      Detokenizer detokenizer,
      StepObserver observer,
      LongSupplier nanoClock) {
    Generation g = new Generation(settings, runId, detokenizer, nanoClock);
    float[] logits = model.prefill(prompt);
    while (g.beforeStep()) {
      int step = g.step();
      Choice choice = g.accept(logits);
      observer.onStep(step, logits, choice);
      if (g.done()) {
        break;
      }
      logits = model.next(choice.token());
    }
    return g.completion();
  }
}
