package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The one rule for greedy and sampled divergences, in logit units. */
class FlipRuleTest {
  private static Comparison divergedAt(int step, double refMargin, double drawMargin) {
    return new Comparison(
        step,
        0,
        step + 1,
        new float[step + 1],
        0,
        0,
        0,
        refMargin,
        Double.NaN,
        Double.NaN,
        drawMargin,
        false);
  }

  @Test
  void greedyNeedsHalfTheMarginAndMatchesTheOldMarginRule() {
    FlipRule.Decoding greedy = new FlipRule.Decoding(0, false);
    Comparison c = divergedAt(3, 0.004, Double.NaN);
    assertThat(FlipRule.neededDrift(c, greedy)).isEqualTo(0.002);
    // threshold = 2 x floor: explained exactly when margin <= threshold, as before.
    assertThat(FlipRule.explained(c, greedy, 0.004)).isTrue();
    assertThat(FlipRule.explained(c, greedy, 0.0039)).isFalse();
  }

  @Test
  void gumbelNeedsTemperatureTimesHalfTheScoreGap() {
    // Scores are logit / T + Gumbel noise: a gap g closes when each logit moves by T * g / 2.
    FlipRule.Decoding gumbel = new FlipRule.Decoding(0.8, true);
    Comparison c = divergedAt(2, 5.0, 0.01);
    assertThat(FlipRule.neededDrift(c, gumbel)).isCloseTo(0.004, within(1e-15));
    assertThat(FlipRule.explained(c, gumbel, 2 * 0.004)).isTrue();
    assertThat(FlipRule.explained(c, gumbel, 2 * 0.0039)).isFalse();
  }

  @Test
  void inverseCdfNeedsTheDriftThatMovesACumulativeSumByTheDrawMargin() {
    FlipRule.Decoding inverse = new FlipRule.Decoding(1.0, false);
    Comparison c = divergedAt(0, 5.0, 0.002);
    double needed = FlipRule.neededDrift(c, inverse);
    assertThat(needed).isCloseTo(Math.log1p(0.002) / 2, within(1e-15));
    // The bound is tight for F = 1 - ... : with every logit of the winner's block up by needed and
    // the rest down by needed, a cumulative sum F moves by F * (e^(2 needed) - 1), which reaches
    // the draw margin at F = 1.
    assertThat(Math.expm1(2 * needed)).isCloseTo(0.002, within(1e-15));
  }

  @Test
  void aRunThatStoppedEarlyIsNeverExplained() {
    Comparison c =
        new Comparison(
            4, -2, 4, new float[4], 0, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, true);
    assertThat(FlipRule.explained(c, new FlipRule.Decoding(0, false), 1e9)).isFalse();
  }
}
