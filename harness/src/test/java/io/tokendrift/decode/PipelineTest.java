package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PipelineTest {

  @Test
  void seedExampleTopKTwoKeepsTwoTokensRenormalised() {
    // The seed's exercise: logits [3, 2, 1, 0.5], top_k = 2 -> e/(e+1) and 1/(e+1).
    Kept k = Pipeline.filter(new float[] {3, 2, 1, 0.5f}, SamplingSettings.of(1, 2, 1));
    assertThat(k.ids()).containsExactly(0, 1);
    assertThat(k.probs()[0]).isCloseTo(Math.E / (Math.E + 1), within(1e-12));
    assertThat(k.probs()[1]).isCloseTo(1 / (Math.E + 1), within(1e-12));
    assertThat(String.format(java.util.Locale.ROOT, "%.4f %.4f", k.probs()[0], k.probs()[1]))
        .isEqualTo("0.7311 0.2689");
  }

  @Test
  void temperatureDividesLogitsInFloat32() {
    float[] scaled = Pipeline.scale(new float[] {4, 2, 1}, 2);
    assertThat(scaled).containsExactly(2f, 1f, 0.5f);
    // softmax(4, 2, 1) at T = 1 is 84.4 / 11.4 / 4.2 %, not the seed's illustrative 70/20/10.
    Kept k = Pipeline.filter(new float[] {4, 2, 1}, SamplingSettings.of(1, 0, 1));
    assertThat(k.probs()[0]).isCloseTo(0.8438, within(1e-4));
    assertThat(k.probs()[1]).isCloseTo(0.1142, within(1e-4));
    assertThat(k.probs()[2]).isCloseTo(0.0420, within(1e-4));
  }

  @Test
  void tiesAtTheKthValueSurvive() {
    float[] logits = {5, 3, 3, 3, 1};
    assertThat(Pipeline.topK(logits, 2)).containsExactly(0, 1, 2, 3);
    assertThat(Pipeline.topK(logits, 1)).containsExactly(0);
    assertThat(Pipeline.topK(logits, 4)).containsExactly(0, 1, 2, 3);
    assertThat(Pipeline.topK(logits, 5)).containsExactly(0, 1, 2, 3, 4);
  }

  @Test
  void topKLargerThanTheVocabularyIsClampedNotRefused() {
    float[] logits = {1, 2, 3};
    assertThat(Pipeline.topK(logits, 50)).containsExactly(0, 1, 2);
    Kept k = Pipeline.filter(logits, SamplingSettings.of(1, 50, 1));
    assertThat(k.size()).isEqualTo(3);
  }

  @Test
  void topKZeroDisables() {
    assertThat(Pipeline.topK(new float[] {1, 2, 3}, 0)).containsExactly(0, 1, 2);
  }

  @Test
  void seedNucleusExampleKeepsUpToTheNinetyThreePercentMark() {
    // Sorted probs 0.4, 0.3, 0.15, 0.08, 0.04, 0.02, 0.01; cumulative 0.4, 0.7, 0.85, 0.93, ...
    // With p = 0.9 the 0.08 token stays (0.85 ranked above it) and the 0.04 token goes (0.93).
    double[] p = {0.04, 0.3, 0.01, 0.4, 0.08, 0.15, 0.02};
    float[] logits = new float[p.length];
    for (int i = 0; i < p.length; i++) {
      logits[i] = (float) Math.log(p[i]);
    }
    Kept k = Pipeline.filter(logits, SamplingSettings.of(1, 0, 0.9));
    assertThat(k.ids()).containsExactly(1, 3, 4, 5);
    assertThat(k.probabilityOf(3)).isCloseTo(0.4 / 0.93, within(1e-6));
  }

  @Test
  void atLeastOneTokenIsAlwaysKept() {
    Kept k = Pipeline.filter(new float[] {10, 0, 0}, SamplingSettings.of(1, 0, 0.01));
    assertThat(k.ids()).containsExactly(0);
    assertThat(k.probs()).containsExactly(1.0);
    Kept tiny = Pipeline.filter(new float[] {1, 1, 1}, SamplingSettings.of(1, 0, 1e-9));
    assertThat(tiny.ids()).containsExactly(0);
  }

  @Test
  void topPOrdersTiesByAscendingId() {
    // Four equal tokens of 0.25; p = 0.5 keeps ranks 0, 1 and 2 (0.5 is not above 0.5, 0.75 is).
    Kept k = Pipeline.filter(new float[] {0, 0, 0, 0}, SamplingSettings.of(1, 0, 0.5));
    assertThat(k.ids()).containsExactly(0, 1, 2);
  }

  @Test
  void orderMattersTemperatureChangesWhatTopPKeeps() {
    float[] logits = {2, 1, 0};
    assertThat(Pipeline.filter(logits, SamplingSettings.of(0.1, 0, 0.9)).ids()).containsExactly(0);
    assertThat(Pipeline.filter(logits, SamplingSettings.of(2, 0, 0.9)).ids())
        .containsExactly(0, 1, 2);
  }

  @Test
  void negativeInfinityIsAMaskedToken() {
    float inf = Float.NEGATIVE_INFINITY;
    Kept k = Pipeline.filter(new float[] {inf, 1, inf, 1}, SamplingSettings.of(1, 0, 1));
    assertThat(k.probabilityOf(0)).isZero();
    assertThat(k.probabilityOf(1)).isEqualTo(0.5);
  }

  @Test
  void greedySettingsAreRefusedByTheFilter() {
    assertThatThrownBy(() -> Pipeline.filter(new float[] {1}, SamplingSettings.GREEDY))
        .hasMessage("temperature 0 is greedy decoding: there is nothing to filter");
  }

  @Test
  void agreesWithTheFullSortImplementationOnThousandsOfSeededInputs() {
    SplittableRandom rnd = new SplittableRandom(20261126);
    int cases = 3000;
    for (int c = 0; c < cases; c++) {
      int n = 1 + rnd.nextInt(c % 10 == 0 ? 5000 : 300);
      float[] logits = randomLogits(rnd, n);
      double t = new double[] {0.05, 0.2, 0.7, 1, 1.5, 3}[rnd.nextInt(6)];
      int k = new int[] {0, 0, 1, 2, 5, 10, 50, n, n + 7}[rnd.nextInt(9)];
      double p = new double[] {1, 1, 0.5, 0.9, 0.95, 0.99, 0.3, 1e-6}[rnd.nextInt(8)];
      SamplingSettings s = SamplingSettings.of(t, k, p);
      Kept fast = Pipeline.filter(logits, s);
      Kept ref = FullSortPipeline.filter(logits, s);
      String where = "case " + c + " (n=" + n + ", " + s + ")";
      assertThat(fast.ids()).as(where).containsExactly(ref.ids());
      assertThat(fast.probs()).as(where).containsExactly(ref.probs());
    }
  }

  @Test
  void aNucleusWithinRoundingOfOneAgreesWithTheFullSort() {
    // No bin's mass surely passes p here: the exact rank-order sum decides (found by review).
    SplittableRandom rnd = new SplittableRandom(5000);
    float[] logits = new float[5000];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) rnd.nextGaussian();
    }
    for (double p : new double[] {0.9999999995, 1 - 1e-10, 1 - 1e-9, 1 - 2e-9}) {
      SamplingSettings s = SamplingSettings.of(1, 0, p);
      assertThat(Pipeline.filter(logits, s).ids())
          .as("p = %s", p)
          .containsExactly(FullSortPipeline.filter(logits, s).ids());
    }
  }

  /** Mixtures of shapes real logits have: Gaussian, heavy ties, a few dominant, masked tokens. */
  static float[] randomLogits(SplittableRandom rnd, int n) {
    float[] v = new float[n];
    int shape = rnd.nextInt(4);
    for (int i = 0; i < n; i++) {
      v[i] =
          switch (shape) {
            case 0 -> (float) (rnd.nextGaussian() * 2);
            case 1 -> (float) rnd.nextInt(4); // many exact ties
            case 2 -> (float) (rnd.nextGaussian() + (rnd.nextInt(50) == 0 ? 8 : 0));
            default ->
                rnd.nextInt(10) == 0 ? Float.NEGATIVE_INFINITY : (float) (rnd.nextGaussian() * 5);
          };
    }
    if (shape == 3) {
      v[rnd.nextInt(n)] = 0; // at least one finite logit
    }
    return v;
  }
}
