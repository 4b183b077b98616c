package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SamplerTest {
  private static final float[] LOGITS = {2.0f, 1.5f, 1.4f, 0.3f, -0.5f, -3f};
  private static final SamplingSettings CREATIVE = SamplingSettings.of(0.9, 5, 0.95);

  @Test
  void inverseCdfPicksTheCellHoldingUAndMeasuresTheDistanceToItsEdges() {
    Kept kept = new Kept(new int[] {3, 7, 9}, new double[] {0.25, 0.5, 0.25}, new float[10]);
    Choice c = Sampler.inverseCdf(kept, 0.3);
    assertThat(c.token()).isEqualTo(7);
    assertThat(c.drawMargin()).isCloseTo(0.05, within(1e-12));
    assertThat(c.probability()).isEqualTo(0.5);
    assertThat(Sampler.inverseCdf(kept, 0.1).token()).isEqualTo(3);
    assertThat(Sampler.inverseCdf(kept, 0.99).token()).isEqualTo(9);
    assertThat(Sampler.inverseCdf(kept, 0.99).drawMargin()).isCloseTo(0.01, within(1e-12));
  }

  @Test
  void inverseCdfNeverPicksAZeroProbabilityToken() {
    Kept kept = new Kept(new int[] {0, 1, 2}, new double[] {0.5, 0.5, 0}, new float[3]);
    assertThat(Sampler.inverseCdf(kept, 0.999_999_999_999).token()).isEqualTo(1);
    Kept leading = new Kept(new int[] {0, 1}, new double[] {0, 1}, new float[2]);
    assertThat(Sampler.inverseCdf(leading, 1e-300).token()).isEqualTo(1);
  }

  @Test
  void greedyIgnoresTheSeedAndBreaksTiesByLowestId() {
    float[] tied = {1, 5, 5, 0};
    for (long seed = 0; seed < 20; seed++) {
      Choice c = Sampler.sample(tied, SamplingSettings.GREEDY, new Draws(seed, 0), 3);
      assertThat(c.token()).isEqualTo(1);
      assertThat(c.sampled()).isFalse();
    }
  }

  @ParameterizedTest
  @EnumSource(DrawMethod.class)
  void sameSeedRunAndStepGiveTheSameTokenInAnyCallOrder(DrawMethod m) {
    SamplingSettings s = CREATIVE.withMethod(m);
    int[] forward = new int[50];
    for (int step = 0; step < 50; step++) {
      forward[step] = Sampler.sample(LOGITS, s, new Draws(7, 99), step).token();
    }
    for (int step = 49; step >= 0; step--) {
      assertThat(Sampler.sample(LOGITS, s, new Draws(7, 99), step).token())
          .isEqualTo(forward[step]);
    }
  }

  @Test
  void gumbelRecordsTheGapBetweenTheTwoBestScores() {
    Kept kept = Pipeline.filter(LOGITS, CREATIVE);
    Choice c = Sampler.gumbel(kept, new Draws(1, 2), 3);
    assertThat(c.drawMargin()).isPositive().isFinite();
    Kept one = Pipeline.filter(LOGITS, SamplingSettings.of(1, 1, 1));
    assertThat(Sampler.gumbel(one, new Draws(1, 2), 3).drawMargin()).isInfinite();
    assertThat(Sampler.gumbel(one, new Draws(1, 2), 3).token()).isZero();
  }

  @ParameterizedTest
  @EnumSource(DrawMethod.class)
  void drawsMatchTheKeptDistributionForSeveralSeeds(DrawMethod m) {
    SamplingSettings s = CREATIVE.withMethod(m);
    double[] expected = Pipeline.filter(LOGITS, s).probs();
    for (long seed : new long[] {1, 2, 3, 1234, 987654321L}) {
      double p =
          goodnessOfFit(step -> Sampler.sample(LOGITS, s, new Draws(seed, 5), step), expected);
      assertThat(p).as("seed %d, %s", seed, m).isGreaterThan(1e-3);
    }
  }

  @Test
  void negativeControlABiasedSamplerIsRejectedByTheSameTest() {
    // A plausible bug: the draw squared-rooted before the lookup, shifting mass toward high ids.
    Kept kept = Pipeline.filter(LOGITS, CREATIVE);
    Draws d = new Draws(1, 5);
    double p =
        goodnessOfFit(
            step -> Sampler.inverseCdf(kept, Math.pow(d.uniform(step), 0.9)), kept.probs());
    assertThat(p).isLessThan(1e-6);
  }

  @Test
  void negativeControlAnOffByOneTemperatureIsRejected() {
    SamplingSettings wrong = SamplingSettings.of(1.0, 5, 0.95);
    double[] expected = Pipeline.filter(LOGITS, CREATIVE).probs();
    double p =
        goodnessOfFit(step -> Sampler.sample(LOGITS, wrong, new Draws(1, 5), step), expected);
    assertThat(p).isLessThan(1e-6);
  }

  private interface Draw {
    Choice at(int step);
  }

  /** Chi-square p-value of 20,000 draws against {@code expected} over the first kept ids. */
  private static double goodnessOfFit(Draw draw, double[] expected) {
    int n = 20_000;
    long[] observed = new long[expected.length];
    for (int step = 0; step < n; step++) {
      observed[draw.at(step).token()]++;
    }
    double[] e = new double[expected.length];
    for (int i = 0; i < e.length; i++) {
      e[i] = n * expected[i];
    }
    return new ChiSquareTest().chiSquareTest(e, observed);
  }
}
