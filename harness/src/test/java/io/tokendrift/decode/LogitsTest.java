package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LogitsTest {
  @Test
  void nanIsRefusedNamingStepAndIndex() {
    assertThatThrownBy(() -> Logits.check(new float[] {1, 2, Float.NaN}, 12))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("step 12: logit at index 2 is NaN; logits must be finite numbers or -Infinity");
  }

  @Test
  void positiveInfinityIsRefused() {
    assertThatThrownBy(() -> Logits.check(new float[] {Float.POSITIVE_INFINITY}, 0))
        .hasMessage(
            "step 0: logit at index 0 is Infinity; logits must be finite numbers or -Infinity");
  }

  @Test
  void emptyVocabularyIsRefused() {
    assertThatThrownBy(() -> Logits.check(new float[0], 3))
        .hasMessage("step 3: the logit vector is empty; the vocabulary must have at least 1 token");
  }

  @Test
  void allMaskedIsRefused() {
    float inf = Float.NEGATIVE_INFINITY;
    assertThatThrownBy(() -> Logits.check(new float[] {inf, inf}, 1))
        .hasMessage("step 1: every logit is -Infinity; at least one token must be possible");
  }

  @Test
  void greedyTieGoesToTheLowestId() {
    assertThat(Logits.argmax(new float[] {1, 3, 2, 3})).isEqualTo(1);
    assertThat(Logits.argmax(new float[] {-0.0f, 0.0f})).isEqualTo(0);
    assertThat(Logits.argmax(new float[] {Float.NEGATIVE_INFINITY, -5})).isEqualTo(1);
  }

  @Test
  void rankKeysSortByValueDescendingThenIdAscending() {
    float[] v = {0f, -1.5f, 3f, -0.0f, Float.NEGATIVE_INFINITY, 3f, 1e-30f, -1e-30f};
    long[] keys = new long[v.length];
    for (int i = 0; i < v.length; i++) {
      keys[i] = Logits.rankKey(v[i], i);
    }
    Arrays.sort(keys);
    int[] order = Arrays.stream(keys).mapToInt(Logits::idOf).toArray();
    assertThat(order).containsExactly(2, 5, 6, 0, 3, 7, 1, 4);
  }
}
