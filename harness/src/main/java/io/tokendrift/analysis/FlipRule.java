package io.tokendrift.analysis;

import io.tokendrift.trace.TraceHeader;

/**
 * The one rule, in logit units, that tells noise from change at a divergence step, for greedy and
 * sampled steps alike, used by {@code analyze}, {@code check} and {@code compare}: a divergence is
 * explained when the smallest change of the logits (largest |Δlogit|) that could have changed the
 * chosen token is within the noise floor.
 *
 * <ul>
 *   <li>Greedy: the top-1/top-2 margin m closes when the two logits move toward each other, each by
 *       m / 2.
 *   <li>Gumbel-max: the winner's perturbed score beats the runner-up's by g (in logit / T units);
 *       each score moves by at most δ / T, so the gap closes only when δ ≥ T · g / 2.
 *   <li>Inverse CDF: the draw u sits d from the nearest CDF boundary (a probability). When every
 *       logit moves by at most δ, each probability is multiplied by a factor in [e^(−2δ/T),
 *       e^(2δ/T)] (numerator and normaliser each move by e^(±δ/T)), so a cumulative sum F ≤ 1 moves
 *       by at most e^(2δ/T) − 1; crossing d needs δ ≥ (T / 2) · ln(1 + d).
 * </ul>
 *
 * The threshold passed in is in margin units, twice the floor (a greedy margin that two logits each
 * moving by the floor can close), as analysis.json has always stated it.
 */
public final class FlipRule {
  private FlipRule() {}

  /**
   * The decoding a trace recorded.
   *
   * @param temperature 0 for greedy
   * @param gumbel true for Gumbel-max draws, false for inverse CDF
   */
  public record Decoding(double temperature, boolean gumbel) {
    /** The decoding of a trace's header. */
    public static Decoding of(TraceHeader h) {
      return new Decoding(
          Double.parseDouble(h.decoding().getOrDefault("temperature", "0")),
          "gumbel".equals(h.decoding().get("method")));
    }
  }

  /**
   * The smallest largest-|Δlogit| that could have changed the token chosen at the divergence step
   * (NaN when the runs do not diverge there).
   */
  public static double neededDrift(Comparison c, Decoding d) {
    if (c.divIndex() < 0) {
      return Double.NaN;
    }
    double draw = c.drawMargin();
    if (Double.isNaN(draw) && d.temperature() > 0) {
      // A sampled step without its draw (a provider samples for itself): no drift can be shown to
      // have flipped it, so it is not explained.
      return Double.NaN;
    }
    if (d.temperature() > 0) {
      return d.gumbel() ? d.temperature() * draw / 2 : d.temperature() / 2 * Math.log1p(draw);
    }
    return c.refMargin() / 2;
  }

  /**
   * Whether a divergence is explained by noise: not a run that merely stopped early, and the needed
   * drift within the floor ({@code threshold} / 2).
   */
  public static boolean explained(Comparison c, Decoding d, double threshold) {
    return !c.prefixOnly() && neededDrift(c, d) <= threshold / 2;
  }
}
