package io.tokendrift.experiment;

import io.tokendrift.trace.RunRecord;
import java.util.Locale;

/**
 * Two recorded greedy runs of one prompt on numerically different paths (two engines, two
 * conditions) agree token for token up to their first divergence, and a divergence is accepted only
 * where the reference's recorded logit of the other run's token is within twice the stated drift
 * tolerance of its chosen token's — the product's flip rule, read from the reference's own top-K. A
 * token outside the reference's top-K, or further below, is a real change and fails.
 */
final class TokenAgreement {
  private TokenAgreement() {}

  /**
   * Asserts the rule; returns the divergence step, or -1 when the runs agree over their common
   * length.
   */
  static int assertSameOrNearTie(RunRecord ref, RunRecord other, double tolerance, String what) {
    int[] a = ref.tokens();
    int[] b = other.tokens();
    int n = Math.min(a.length, b.length);
    for (int i = 0; i < n; i++) {
      if (a[i] == b[i]) {
        continue;
      }
      double margin = Double.POSITIVE_INFINITY;
      for (int j = 0; j < ref.steps().k(); j++) {
        if (ref.steps().topId(i, j) == b[i]) {
          margin = ref.steps().chosenLogit(i) - ref.steps().topLogit(i, j);
        }
      }
      if (margin > 2 * tolerance) {
        throw new AssertionError(
            String.format(
                Locale.ROOT,
                "%s, step %d: expected token %d but was %d; reference margin %.3g > 2 x tolerance"
                    + " %.3g — a real change, not a near-tie",
                what,
                i,
                a[i],
                b[i],
                margin,
                2 * tolerance));
      }
      return i;
    }
    if (a.length != b.length) {
      // Greedy runs that agree token for token stop at the same place unless they diverged.
      throw new AssertionError(what + ": same tokens but lengths " + a.length + " vs " + b.length);
    }
    return -1;
  }
}
