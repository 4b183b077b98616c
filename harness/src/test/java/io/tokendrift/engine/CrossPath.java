package io.tokendrift.engine;

import io.tokendrift.decode.LogitStats;
import io.tokendrift.decode.Logits;
import io.tokendrift.model.Float64Llama;
import java.util.Locale;

/**
 * Compares two numerically different paths step by step (two engines, an engine and a float64
 * reference, two conditions), with the product's flip rule ({@code analysis.FlipRule}) instead of
 * "the argmax must be equal": at each step the other path's top token must be the reference's,
 * except where the reference's own margin between the two tokens is within twice the stated
 * tolerance — a near-tie that drift within the tolerance can flip, the phenomenon tokendrift
 * measures — and no logit may move by more than the tolerance. The caller feeds both paths the
 * reference's token ({@link #step}'s result), so one flip does not send the paths apart.
 *
 * <p>Two tokens swapping order under a drift δ have a reference margin ≤ 2δ, so the token rule and
 * the drift bound agree; the token rule comes first for its message ("a real change at step 12").
 * {@link #negativeControl} shows, inside each test that uses the rule, that both still fail.
 */
public final class CrossPath {
  private final String what;
  private final double tolerance;
  private double worst;
  private int steps;
  private int acceptedFlips;

  /**
   * @param what the comparison, for messages ("torch vs DJL, batch 4")
   * @param tolerance the largest |Δlogit| allowed between the paths; mismatched tokens pass where
   *     the reference margin is at most twice it
   */
  public CrossPath(String what, double tolerance) {
    if (!(tolerance > 0)) {
      throw new IllegalArgumentException("tolerance (" + tolerance + ") must be > 0");
    }
    this.what = what;
    this.tolerance = tolerance;
  }

  /** One step with a float32 reference; returns the reference's token, to feed both paths. */
  public int step(float[] reference, float[] other, String where) {
    double[] r = new double[reference.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = reference[i];
    }
    return step(r, other, where);
  }

  /** One step with a float64 reference; returns the reference's token, to feed both paths. */
  public int step(double[] reference, float[] other, String where) {
    if (reference.length != other.length) {
      throw new AssertionError(
          what + ", " + where + ": " + reference.length + " vs " + other.length + " logits");
    }
    int want = Float64Llama.argmax(reference);
    int got = Logits.argmax(other);
    double drift = 0;
    for (int i = 0; i < reference.length; i++) {
      drift = Math.max(drift, Math.abs(reference[i] - other[i]));
    }
    worst = Math.max(worst, drift);
    steps++;
    if (got != want) {
      double margin = reference[want] - reference[got];
      if (margin > 2 * tolerance) {
        throw new AssertionError(
            String.format(
                Locale.ROOT,
                "%s, %s: expected token %d but was %d; reference margin %.3g > 2 x tolerance %.3g"
                    + " — a real change, not a near-tie",
                what,
                where,
                want,
                got,
                margin,
                2 * tolerance));
      }
      acceptedFlips++;
    }
    if (drift > tolerance) {
      throw new AssertionError(
          String.format(
              Locale.ROOT,
              "%s, %s: max |Δlogit| %.3g exceeds the tolerance %.3g",
              what,
              where,
              drift,
              tolerance));
    }
    return want;
  }

  /** The largest |Δlogit| seen so far. */
  public double worst() {
    return worst;
  }

  /** Steps compared so far. */
  public int steps() {
    return steps;
  }

  /** Steps where the tokens differed at a near-tie (accepted). */
  public int acceptedFlips() {
    return acceptedFlips;
  }

  /**
   * The negative control: with {@code reference} (any real step's logits), a path whose runner-up
   * is raised past the top (a real change: margin far above the tolerance) and a path moved by
   * twice the tolerance without changing its top token must both fail this rule; a path within the
   * tolerance must pass. Throws AssertionError naming which one the rule missed.
   */
  public static void negativeControl(float[] reference, double tolerance) {
    LogitStats stats = LogitStats.of(reference);
    int top = stats.top1();
    int second = stats.top2();
    float[] changed = reference.clone();
    changed[second] = reference[top] + 1f;
    float[] drifted = reference.clone();
    for (int i = 0; i < drifted.length; i++) {
      drifted[i] += (float) (i == top ? 2 * tolerance : -2 * tolerance);
    }
    float[] close = reference.clone();
    close[second] += (float) (tolerance / 4);
    new CrossPath("control", tolerance).step(reference, close, "within tolerance");
    for (float[] bad : new float[][] {changed, drifted}) {
      boolean failed;
      try {
        new CrossPath("control", tolerance).step(reference, bad, "negative control");
        failed = false;
      } catch (AssertionError e) {
        failed = true;
      }
      if (!failed) {
        throw new AssertionError(
            bad == changed
                ? "the rule accepted a real change (runner-up raised 1.0 past the top)"
                : "the rule accepted a drift of twice the tolerance");
      }
    }
  }
}
