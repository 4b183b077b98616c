package io.tokendrift.engine.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.TestScale;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.tiny.RandomWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Batch-invariant mode keeps the batch: a row's logits at every step are the same bits at every
 * batch size 1-16, at the first, middle or last row, beside short or long neighbours, decoding with
 * the KV cache or recomputing the whole prefix — on the bundled model and on a GPT-2-small-shaped
 * random checkpoint.
 */
@Tag("numerics")
class InvarianceMatrixTest {
  static final EngineOptions INV = EngineOptions.DEFAULTS.withBatchInvariant(true);

  /** Row {@code at} holds p among neighbours of the given lengths; prefill then {@code steps}. */
  static List<float[]> run(DjlEngine e, int[] p, int size, int at, int[] lengths, int steps) {
    return run(e, p, size, at, lengths, steps, true);
  }

  /**
   * As {@link #run(DjlEngine, int[], int, int, int[], int)}, with the KV cache or (cached false) a
   * new batch of every row's whole sequence at each step.
   */
  static List<float[]> run(
      DjlEngine e, int[] p, int size, int at, int[] lengths, int steps, boolean cached) {
    List<int[]> prompts = new ArrayList<>();
    for (int r = 0; r < size; r++) {
      if (r == at) {
        prompts.add(p);
      } else {
        int[] f = new int[lengths[r % lengths.length]];
        for (int i = 0; i < f.length; i++) {
          f[i] = (r * 13 + i * 7) % 97;
        }
        prompts.add(f);
      }
    }
    List<float[]> out = new ArrayList<>();
    Batch b = e.start(prompts);
    try {
      out.add(b.logits(at));
      int[] tokens = new int[size];
      boolean[] active = new boolean[size];
      Arrays.fill(active, true);
      for (int s = 0; s < steps; s++) {
        for (int r = 0; r < size; r++) {
          tokens[r] = r == at ? (3 + s * 5) % 97 : (11 + s * 3 + r) % 97;
        }
        if (s == 1 && size > 2) {
          active[(at + 1) % size] = false; // a neighbour stops: nothing changes for row at
        }
        if (cached) {
          b.step(tokens, active);
        } else {
          for (int r = 0; r < size; r++) {
            if (active[r]) {
              int[] q = prompts.get(r);
              int[] longer = Arrays.copyOf(q, q.length + 1);
              longer[q.length] = tokens[r];
              prompts.set(r, longer);
            }
          }
          b.close();
          b = e.start(prompts);
        }
        out.add(b.logits(at));
      }
    } finally {
      b.close();
    }
    return out;
  }

  static void matrix(
      DjlEngine e, int[] p, int[] sizes, int steps, int[][] mixes, boolean[] cacheModes) {
    List<float[]> alone = run(e, p, 1, 0, new int[] {1}, steps);
    for (int size : sizes) {
      for (int at : new int[] {0, size / 2, size - 1}) {
        for (int[] mix : mixes) {
          for (boolean cached : cacheModes) {
            if (!cached && size % 4 != 1 && size != 16) {
              continue; // recomputing: sizes 1, 5, 9, 13, 16 (each prefix again at every step)
            }
            List<float[]> got = run(e, p, size, at, mix, steps, cached);
            for (int s = 0; s <= steps; s++) {
              assertThat(got.get(s))
                  .as(
                      "size %d, row %d, neighbours %s, KV cache %s, step %d",
                      size, at, Arrays.toString(mix), cached ? "on" : "off", s)
                  .containsExactly(alone.get(s));
            }
          }
        }
      }
    }
  }

  @Test
  void theBundledModelIsInvariantForEveryBatchSizeUpToSixteen() {
    try (DjlEngine e = new DjlEngine(BundledModel.open().weights(), INV)) {
      int[] sizes = new int[16];
      for (int i = 0; i < 16; i++) {
        sizes[i] = i + 1;
      }
      // The default build: sizes at and around the kernels' row blocks (4, 8) and the largest,
      // every position, both neighbour mixes; -Pthorough: every size 1-16.
      matrix(
          e,
          new int[] {5, 17, 42, 8, 9, 33},
          TestScale.pick(new int[] {1, 2, 3, 4, 5, 8, 9, 16}, sizes),
          4,
          new int[][] {{2, 3}, {17, 1, 30}},
          new boolean[] {true, false});
    }
  }

  @Test
  void aGpt2SmallShapedCheckpointIsInvariantToo() {
    // GPT-2 small's shapes (width 768, 12 heads, inner 3072, vocabulary 50,257), 2 of 12 layers.
    Gpt2Config c = new Gpt2Config(50257, 1024, 768, 2, 12, 3072, 1e-5, true, 50256);
    long t0 = System.nanoTime();
    Gpt2Weights w = RandomWeights.of(c, 7, 0.02);
    System.out.printf(
        "random GPT-2-small-shaped weights: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    try (DjlEngine e = new DjlEngine(w, INV)) {
      matrix(
          e,
          new int[] {464, 3797, 3332, 319, 262},
          TestScale.pick(new int[] {5}, new int[] {3, 16}),
          2,
          new int[][] {{2, 9}},
          new boolean[] {true}); // recomputing 124M-parameter prefixes: the bundled model covers it
    }
  }

  @Test
  void negativeControlTheDefaultModesCacheAndRecomputeDifferInBits() {
    try (DjlEngine e = new DjlEngine(BundledModel.open().weights(), EngineOptions.DEFAULTS)) {
      int[] p = {5, 17, 42, 8, 9, 33};
      List<float[]> cached = run(e, p, 1, 0, new int[] {1}, 3, true);
      List<float[]> fresh = run(e, p, 1, 0, new int[] {1}, 3, false);
      assertThat(cached.get(0)).containsExactly(fresh.get(0)); // the same prefill
      // T-row vs 1-row products: other bits on the CPUs measured so far, but that is the kernels'
      // choice; where they agree, this control shows nothing and is skipped with the reason.
      for (int s = 1; s <= 3; s++) {
        for (int i = 0; i < cached.get(s).length; i++) {
          assertThat(Math.abs(cached.get(s)[i] - fresh.get(s)[i])).isLessThan(1e-4f);
        }
      }
      org.junit.jupiter.api.Assumptions.assumeFalse(
          Arrays.equals(cached.get(3), fresh.get(3)),
          "this CPU's kernels gave the KV-cache and recomputed paths the same bits");
    }
  }

  /**
   * Continuous batching, as serve drives it: rows join a running batch and finished rows are
   * released, so a joining row may take a released row's cache slot (cleared) or a new one that
   * grows the cache. Every row's logits stay the bits it has alone.
   */
  @Test
  void rowsThatJoinAndLeaveARunningBatchKeepTheirBitsAndReuseFreedSlots() {
    try (DjlEngine e = new DjlEngine(BundledModel.open().weights(), INV)) {
      int[] a = {5, 17, 42, 8};
      int[] b = {9, 33, 2, 61, 70, 12, 3, 90, 44, 21, 7, 15, 64, 88, 31, 19, 50, 6};
      int[] c = {11, 4};
      int[] d = {23, 56, 77};
      List<float[]> aloneA = run(e, a, 1, 0, new int[] {1}, 4);
      List<float[]> aloneC = run(e, c, 1, 0, new int[] {1}, 2);
      List<float[]> aloneD = run(e, d, 1, 0, new int[] {1}, 2);
      try (Batch batch = e.start(List.of(a, b))) {
        assertThat(batch.logits(0)).containsExactly(aloneA.get(0));
        batch.step(new int[] {3, 1}, new boolean[] {true, true});
        assertThat(batch.logits(0)).containsExactly(aloneA.get(1));
        // b finishes and goes; c joins into b's slot (cleared of b's 19 keys), d into a new one.
        batch.release(1);
        assertThat(batch.addRows(List.of(c, d))).isTrue();
        assertThat(batch.rows()).isEqualTo(4);
        assertThat(batch.logits(2)).containsExactly(aloneC.get(0));
        assertThat(batch.logits(3)).containsExactly(aloneD.get(0));
        assertThat(batch.logits(0)).containsExactly(aloneA.get(1));
        for (int s = 1; s <= 2; s++) {
          // The tokens run() feeds a row alone at step s - 1 (row 0's rule there).
          int alone = (3 + (s - 1) * 5) % 97;
          int forA = (3 + s * 5) % 97;
          batch.step(new int[] {forA, 0, alone, alone}, new boolean[] {true, false, true, true});
          assertThat(batch.logits(0)).as("a, step %d", s + 1).containsExactly(aloneA.get(s + 1));
          assertThat(batch.logits(2)).as("c, step %d", s).containsExactly(aloneC.get(s));
          assertThat(batch.logits(3)).as("d, step %d", s).containsExactly(aloneD.get(s));
        }
      }
    }
  }

  /**
   * The cache grows in place when a row passes its capacity (64 positions first): decoding across
   * that boundary with the cache gives the bits of recomputing each prefix in a fresh batch, whose
   * cache never grows.
   */
  @Test
  void decodingAcrossTheCachesGrowthGivesTheBitsOfRecomputing() {
    try (DjlEngine e = new DjlEngine(BundledModel.open().weights(), INV)) {
      int[] p = new int[62];
      for (int i = 0; i < p.length; i++) {
        p[i] = (i * 29 + 5) % 97;
      }
      List<float[]> cached = run(e, p, 3, 1, new int[] {2, 40}, 4, true);
      List<float[]> recomputed = run(e, p, 3, 1, new int[] {2, 40}, 4, false);
      for (int s = 0; s <= 4; s++) {
        assertThat(cached.get(s)).as("step %d", s).containsExactly(recomputed.get(s));
      }
    }
  }
}
