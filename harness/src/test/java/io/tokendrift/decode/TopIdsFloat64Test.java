package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The float64 top-K a float64 run records: largest first, the lower id first on a tie. */
class TopIdsFloat64Test {
  /** The same by sorting every id (the obvious way, independent of the insertion sort). */
  private static int[] bySorting(double[] v, int k) {
    return IntStream.range(0, v.length)
        .boxed()
        .sorted(Comparator.<Integer>comparingDouble(i -> -v[i]).thenComparingInt(i -> i))
        .limit(k)
        .mapToInt(Integer::intValue)
        .toArray();
  }

  @Test
  void agreesWithAFullSortOnRandomVectorsWithTies() {
    SplittableRandom r = new SplittableRandom(5);
    for (int trial = 0; trial < 200; trial++) {
      int n = 1 + r.nextInt(60);
      double[] v = new double[n];
      for (int i = 0; i < n; i++) {
        // Few distinct values: ties everywhere, as two logits a micro-tie apart would be in
        // float32.
        v[i] = r.nextInt(6) + (r.nextBoolean() ? 1e-7 : 0);
      }
      int k = 1 + r.nextInt(20);
      assertThat(Logits.topIds(v, k)).as(Arrays.toString(v)).containsExactly(bySorting(v, k));
    }
  }

  @Test
  void keepsAMicroTiesTrueOrder() {
    // Two values 1.1e-7 apart, equal once rounded to float32: float64 keeps 3 above 1.
    double[] v = {0.5, 8.5, 0.1, 8.5 + 1.1e-7, -2};
    assertThat((float) v[1]).isEqualTo((float) v[3]);
    assertThat(Logits.topIds(v, 3)).containsExactly(3, 1, 0);
  }
}
