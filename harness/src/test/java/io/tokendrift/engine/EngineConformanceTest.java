package io.tokendrift.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The contract every {@link Engine} keeps; each engine's test class extends this one. */
public abstract class EngineConformanceTest {
  protected Engine engine;

  /** A fresh engine over a small model. */
  protected abstract Engine newEngine();

  /** Largest |a - b| / (1 + |b|) allowed between cached stepping and recomputation. */
  protected double cacheTolerance() {
    return 1e-5;
  }

  @BeforeEach
  void open() {
    engine = newEngine();
  }

  @AfterEach
  void shut() {
    engine.close();
  }

  protected int[] prompt(int length, int salt) {
    int v = engine.capabilities().vocabSize();
    int[] p = new int[length];
    for (int i = 0; i < length; i++) {
      p[i] = (i * 31 + salt * 17 + 7) % v;
    }
    return p;
  }

  @Test
  void capabilitiesDescribeTheModel() {
    Capabilities c = engine.capabilities();
    assertThat(c.vocabSize()).isPositive();
    assertThat(c.contextLength()).isGreaterThan(8);
    assertThat(c.name()).isNotBlank();
    assertThat(engine.settings()).containsKeys("engine", "device", "precision");
  }

  @Test
  void prefillGivesOneFiniteVectorPerRow() {
    try (Batch b = engine.start(List.of(prompt(5, 1), prompt(3, 2)))) {
      assertThat(b.rows()).isEqualTo(2);
      for (int r = 0; r < 2; r++) {
        float[] l = b.logits(r);
        assertThat(l).hasSize(engine.capabilities().vocabSize());
        for (float x : l) {
          assertThat(Float.isFinite(x)).isTrue();
        }
      }
      assertThat(b.length(0)).isEqualTo(5);
      assertThat(b.length(1)).isEqualTo(3);
    }
  }

  @Test
  void logitsAreACopy() {
    try (Batch b = engine.start(List.of(prompt(4, 1)))) {
      float[] l = b.logits(0);
      float before = l[0];
      l[0] = 1e9f;
      assertThat(b.logits(0)[0]).isEqualTo(before);
    }
  }

  @Test
  void theSameBatchTwiceGivesTheSameBits() {
    float[] first;
    try (Batch b = engine.start(List.of(prompt(6, 3)))) {
      b.step(new int[] {1}, new boolean[] {true});
      first = b.logits(0);
    }
    try (Batch b = engine.start(List.of(prompt(6, 3)))) {
      b.step(new int[] {1}, new boolean[] {true});
      assertThat(b.logits(0)).containsExactly(first);
    }
  }

  @Test
  void cachedSteppingMatchesRecomputation() {
    int[] p = prompt(6, 4);
    int[] next = {3, 9, 1, 4};
    float[] stepped;
    try (Batch b = engine.start(List.of(p))) {
      for (int tok : next) {
        b.step(new int[] {tok}, new boolean[] {true});
      }
      assertThat(b.length(0)).isEqualTo(p.length + next.length);
      stepped = b.logits(0);
    }
    int[] full = new int[p.length + next.length];
    System.arraycopy(p, 0, full, 0, p.length);
    System.arraycopy(next, 0, full, p.length, next.length);
    try (Batch b = engine.start(List.of(full))) {
      assertClose(stepped, b.logits(0), cacheTolerance());
    }
  }

  @Test
  void aRowGetsTheSameAnswerAloneAndInABatchWithinFloatTolerance() {
    int[] p = prompt(4, 5);
    float[] alone;
    try (Batch b = engine.start(List.of(p))) {
      b.step(new int[] {2}, new boolean[] {true});
      alone = b.logits(0);
    }
    try (Batch b = engine.start(List.of(prompt(9, 6), p, prompt(2, 7)))) {
      b.step(new int[] {5, 2, 8}, new boolean[] {true, true, true});
      assertClose(b.logits(1), alone, 1e-4);
    }
  }

  @Test
  void emptyAndOverlongPromptsAreRefused() {
    assertThatThrownBy(() -> engine.start(List.of(new int[0])))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("row 0 is empty");
    int ctx = engine.capabilities().contextLength();
    assertThatThrownBy(() -> engine.start(List.of(prompt(3, 1), prompt(ctx, 1))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "prompt of row 1 has " + ctx + " tokens; the model's context holds " + ctx)
        .hasMessageEndingWith("and at least one more is needed to generate");
    assertThatThrownBy(() -> engine.start(List.of(prompt(ctx - 1, 1), new int[0])))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("prompt of row 1 is empty; it needs at least one token");
    int v = engine.capabilities().vocabSize();
    assertThatThrownBy(() -> engine.start(List.of(new int[] {1, 2, v})))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "prompt of row 0, position 2: token id "
                + v
                + " is outside the vocabulary [0, "
                + v
                + ")");
    assertThatThrownBy(() -> engine.start(List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a batch needs at least one prompt");
  }

  @Test
  void theLongestPromptLeavesOneTokenAndARecomputedSequenceMayFillTheContext() {
    int ctx = engine.capabilities().contextLength();
    try (Batch b = engine.start(List.of(prompt(ctx - 1, 2)))) {
      assertThat(b.length(0)).isEqualTo(ctx - 1);
      assertThat(b.logits(0)).hasSize(engine.capabilities().vocabSize());
    }
    try (Batch b = engine.restart(List.of(prompt(ctx, 2)))) {
      assertThat(b.length(0)).isEqualTo(ctx);
      for (float x : b.logits(0)) {
        assertThat(Float.isFinite(x)).isTrue();
      }
    }
    assertThatThrownBy(() -> engine.restart(List.of(prompt(ctx + 1, 2))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prompt of row 0 has " + (ctx + 1) + " tokens");
  }

  protected static void assertClose(float[] actual, float[] expected, double tol) {
    assertThat(actual).hasSameSizeAs(expected);
    double worst = 0;
    for (int i = 0; i < actual.length; i++) {
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
    }
    assertThat(worst).as("largest relative difference").isLessThanOrEqualTo(tol);
  }
}
