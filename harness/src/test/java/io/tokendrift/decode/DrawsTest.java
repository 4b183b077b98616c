package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DrawsTest {
  @Test
  void drawsArePureFunctionsOfTheirKeyWhateverTheCallOrder() {
    Draws a = new Draws(42, 7);
    double forward = a.uniform(3, 11);
    for (int s = 0; s < 100; s++) {
      a.uniform(s);
    }
    assertThat(new Draws(42, 7).uniform(3, 11)).isEqualTo(forward);
    assertThat(a.uniform(3, 11)).isEqualTo(forward);
  }

  @Test
  void everyKeyComponentChangesTheDraw() {
    double base = new Draws(1, 2).uniform(3, 4);
    assertThat(new Draws(9, 2).uniform(3, 4)).isNotEqualTo(base);
    assertThat(new Draws(1, 9).uniform(3, 4)).isNotEqualTo(base);
    assertThat(new Draws(1, 2).uniform(9, 4)).isNotEqualTo(base);
    assertThat(new Draws(1, 2).uniform(3, 9)).isNotEqualTo(base);
    assertThat(new Draws(1, 2).uniform(3)).isNotEqualTo(base);
    // High halves of seed and run are used too.
    assertThat(new Draws(1L | (1L << 40), 2).uniform(3, 4)).isNotEqualTo(base);
    assertThat(new Draws(1, 2L | (1L << 40)).uniform(3, 4)).isNotEqualTo(base);
  }

  @Test
  void drawsLieStrictlyInsideTheUnitIntervalAndLookUniform() {
    Draws d = new Draws(123, 0);
    int n = 100_000;
    double sum = 0;
    int[] deciles = new int[10];
    Set<Double> seen = new HashSet<>();
    for (int i = 0; i < n; i++) {
      double u = d.uniform(i);
      assertThat(u).isGreaterThan(0).isLessThan(1);
      sum += u;
      deciles[(int) (u * 10)]++;
      seen.add(u);
    }
    assertThat(sum / n).isCloseTo(0.5, org.assertj.core.data.Offset.offset(0.005));
    for (int c : deciles) {
      // Binomial(1e5, 0.1): sd ~ 95, so 10,000 +- 500 is over 5 sd.
      assertThat(c).isBetween(9_500, 10_500);
    }
    assertThat(seen).hasSize(n);
  }
}
