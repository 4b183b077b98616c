package io.tokendrift.decode;

/**
 * Chooses the next token from raw logits with the seed's pipeline; a pure function of the logits,
 * the settings and the draws of (seed, run, step).
 */
public final class Sampler {
  private Sampler() {}

  /**
   * Chooses the token of {@code step}.
   *
   * @throws IllegalArgumentException for logits no stage can work with, naming the step and index
   */
  public static Choice sample(float[] logits, SamplingSettings s, Draws draws, int step) {
    Logits.check(logits, step);
    if (s.greedy()) {
      return Choice.greedy(Logits.argmax(logits));
    }
    Kept kept = Pipeline.filter(logits, s);
    return switch (s.method()) {
      case INVERSE_CDF -> inverseCdf(kept, draws.uniform(step));
      case GUMBEL -> gumbel(kept, draws, step);
    };
  }

  /**
   * Inverse-CDF draw over the kept tokens in ascending id order: the first token whose cumulative
   * probability exceeds {@code u} wins.
   */
  public static Choice inverseCdf(Kept kept, double u) {
    int[] ids = kept.ids();
    double[] probs = kept.probs();
    double below = 0;
    int lastPossible = -1;
    for (int i = 0; i < ids.length; i++) {
      if (probs[i] == 0) {
        continue;
      }
      double above = below + probs[i];
      if (u < above) {
        double margin = Math.min(u - below, above - u);
        return new Choice(ids[i], DrawMethod.INVERSE_CDF, u, margin, ids.length, probs[i]);
      }
      below = above;
      lastPossible = i;
    }
    // The running sum fell short of 1 by rounding and u landed in that sliver: the last possible
    // token
    // owns it, and the draw sat on its upper boundary.
    return new Choice(
        ids[lastPossible],
        DrawMethod.INVERSE_CDF,
        u,
        Math.max(0, u - below),
        ids.length,
        probs[lastPossible]);
  }

  /**
   * Gumbel-max draw: argmax over kept tokens of scaled logit minus log(-log(u_token)), the lowest
   * id winning a tie; exactly a draw from the kept distribution.
   */
  public static Choice gumbel(Kept kept, Draws draws, int step) {
    int[] ids = kept.ids();
    float[] scaled = kept.scaled();
    int best = -1;
    double bestScore = Double.NEGATIVE_INFINITY;
    double second = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < ids.length; i++) {
      if (kept.probs()[i] == 0) {
        continue;
      }
      double g = -Math.log(-Math.log(draws.uniform(step, ids[i])));
      double score = scaled[ids[i]] + g;
      if (best < 0 || score > bestScore) {
        second = bestScore;
        bestScore = score;
        best = i;
      } else if (score > second) {
        second = score;
      }
    }
    return new Choice(
        ids[best],
        DrawMethod.GUMBEL,
        Double.NaN,
        bestScore - second,
        ids.length,
        kept.probs()[best]);
  }
}
