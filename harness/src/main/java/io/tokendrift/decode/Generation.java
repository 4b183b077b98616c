package io.tokendrift.decode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The decode state of one row: fed logits step by step (by {@link DecodeLoop} or by a batched
 * runner), it chooses each token and decides when the row stops.
 *
 * <p>Stop checks after each token, in order: EOS, stop sequence, max tokens. The timeout is checked
 * before each step, so a run never starts a step past its budget.
 */
public final class Generation {
  private final DecodeSettings settings;
  private final Draws draws;
  private final Detokenizer detokenizer;
  private final LongSupplier nanoClock;
  private final long start;
  private final List<Integer> tokens = new ArrayList<>();
  private final List<Choice> choices = new ArrayList<>();
  private String text = "";
  private StopReason stopReason;
  private long elapsed;

  /**
   * @param runId the run's identity, mixed into the draws
   * @param nanoClock a monotonic clock in nanoseconds ({@code System::nanoTime})
   */
  public Generation(
      DecodeSettings settings, long runId, Detokenizer detokenizer, LongSupplier nanoClock) {
    this.settings = settings;
    this.draws = new Draws(settings.seed(), runId);
    this.detokenizer = detokenizer;
    this.nanoClock = nanoClock;
    this.start = nanoClock.getAsLong();
  }

  /** The settings this generation follows. */
  public DecodeSettings settings() {
    return settings;
  }

  /** The text generated so far (cut at a stop sequence once one is found). */
  public String text() {
    return text;
  }

  /** True once a stop condition has fired. */
  public boolean done() {
    return stopReason != null;
  }

  /** Index of the next step. */
  public int step() {
    return tokens.size();
  }

  /**
   * Checks the wall-clock budget before a step; stops the run with {@link StopReason#TIMEOUT} when
   * it is spent.
   *
   * @return true when the run may take another step
   */
  public boolean beforeStep() {
    if (done()) {
      return false;
    }
    long budget = settings.stop().timeout().toNanos();
    if (budget > 0 && nanoClock.getAsLong() - start >= budget) {
      stop(StopReason.TIMEOUT);
      return false;
    }
    return true;
  }

  /** Chooses this step's token from {@code logits}, records it, and applies the stop conditions. */
  public Choice accept(float[] logits) {
    return accept(logits, null);
  }

  /**
   * As {@link #accept(float[])}, with the logits in float64 when the engine computes in it: a
   * greedy step then takes the largest float64 logit (two that round to one float32 stay apart — a
   * micro-tie's true order); a sampled step draws from {@code logits} as always.
   */
  public Choice accept(float[] logits, double[] exact) {
    if (done()) {
      throw new IllegalStateException("generation already stopped: " + stopReason);
    }
    int step = tokens.size();
    Choice choice =
        exact != null && settings.sampling().greedy()
            ? Choice.greedy(Logits.argmax(exact))
            : Sampler.sample(logits, settings.sampling(), draws, step);
    tokens.add(choice.token());
    choices.add(choice);
    StopConditions stop = settings.stop();
    if (stop.eosIds().contains(choice.token())) {
      stop(StopReason.EOS);
      return choice;
    }
    text = detokenizer.decode(textTokens());
    if (!stop.stopSequences().isEmpty()) {
      int at = stop.firstStopIndex(text);
      if (at >= 0) {
        text = text.substring(0, at);
        stop(StopReason.STOP_SEQUENCE);
        return choice;
      }
    }
    if (tokens.size() >= stop.maxTokens()) {
      stop(StopReason.MAX_TOKENS);
    }
    return choice;
  }

  /** Ends the run for a reason the engine knows, such as a full context window. */
  public void stop(StopReason reason) {
    if (stopReason == null) {
      stopReason = reason;
      elapsed = nanoClock.getAsLong() - start;
    }
  }

  /** The finished run; only after a stop. */
  public Completion completion() {
    if (!done()) {
      throw new IllegalStateException("generation has not stopped yet");
    }
    return new Completion(tokens, text, stopReason, choices, elapsed);
  }

  private int[] textTokens() {
    int[] ids = new int[tokens.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = tokens.get(i);
    }
    return ids;
  }
}
