package io.tokendrift.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.decode.Completion;
import io.tokendrift.decode.DecodeSettings;
import io.tokendrift.decode.Generation;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.decode.StepObserver;
import io.tokendrift.decode.StopConditions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The decoder observes rows in parallel at a GPT-2-sized vocabulary: every row's observer still
 * sees each of its steps once, in order, with that row's logits; and recomputing the prefix (KV
 * cache off) starts a batch of the sequences so far at every step.
 */
class BatchDecoderTest {
  static final int VOCAB = 20_000; // above BatchDecoder.PARALLEL_VOCAB

  /** Logits from (row content length, last token): a row's argmax is its length mod 97. */
  static final class Counting implements Engine {
    final List<List<int[]>> starts = new ArrayList<>();

    @Override
    public Capabilities capabilities() {
      return new Capabilities("counting", VOCAB, 1024, true, Capabilities.ALL_AXES, 64);
    }

    @Override
    public Batch start(List<int[]> prompts) {
      starts.add(List.copyOf(prompts));
      int[] lengths = prompts.stream().mapToInt(p -> p.length).toArray();
      return new Batch() {
        @Override
        public int rows() {
          return lengths.length;
        }

        @Override
        public float[] logits(int row) {
          float[] v = new float[VOCAB];
          Arrays.fill(v, -1f);
          v[lengths[row] % 97] = 5f + row;
          return v;
        }

        @Override
        public int length(int row) {
          return lengths[row];
        }

        @Override
        public void step(int[] tokens, boolean[] active) {
          for (int r = 0; r < lengths.length; r++) {
            lengths[r] += active[r] ? 1 : 0;
          }
        }

        @Override
        public void close() {}
      };
    }

    @Override
    public Map<String, String> settings() {
      return Map.of();
    }

    @Override
    public void close() {}
  }

  static List<Completion> decode(Engine e, List<List<String>> seen, boolean kvCache) {
    List<int[]> prompts =
        List.of(new int[] {1, 2}, new int[] {3}, new int[] {4, 5, 6}, new int[] {7});
    List<Generation> gens = new ArrayList<>();
    List<StepObserver> obs = new ArrayList<>();
    for (int r = 0; r < prompts.size(); r++) {
      gens.add(
          new Generation(
              new DecodeSettings(SamplingSettings.GREEDY, StopConditions.maxTokens(5 + r), 0),
              r,
              ids -> "",
              System::nanoTime));
      List<String> mine = new ArrayList<>();
      seen.add(mine);
      int row = r;
      obs.add((step, logits, c) -> mine.add(step + ":" + c.token() + ":" + logits[c.token()]));
    }
    return BatchDecoder.run(e, prompts, gens, obs, kvCache);
  }

  @Test
  void everyRowSeesItsStepsInOrderWithItsOwnLogits() {
    for (boolean kv : new boolean[] {true, false}) {
      Counting e = new Counting();
      List<List<String>> seen = new ArrayList<>();
      List<Completion> out = decode(e, seen, kv);
      for (int r = 0; r < 4; r++) {
        int start = new int[] {2, 1, 3, 1}[r];
        List<String> expected = new ArrayList<>();
        for (int s = 0; s < 5 + r; s++) {
          expected.add(s + ":" + (start + s) % 97 + ":" + (5f + r));
        }
        assertThat(seen.get(r)).as("row %d, kv %s", r, kv).isEqualTo(expected);
        assertThat(out.get(r).tokens()).hasSize(5 + r);
      }
      // Without the cache every step after the prefill starts a new batch of the sequences so far.
      assertThat(e.starts).hasSize(kv ? 1 : 8);
      if (!kv) {
        assertThat(e.starts.get(1).get(0)).containsExactly(1, 2, 2);
      }
    }
  }

  @Test
  void recomputingThePrefixRunsToTheEndOfTheContextAsTheCacheDoes() {
    var w =
        io.tokendrift.model.TestCheckpoints.random(io.tokendrift.model.TestCheckpoints.TINY, 11);
    for (boolean invariant : new boolean[] {false, true}) {
      try (Engine e =
          new io.tokendrift.engine.djl.DjlEngine(
              w, EngineOptions.DEFAULTS.withBatchInvariant(invariant))) {
        for (boolean kv : new boolean[] {true, false}) {
          Generation g =
              new Generation(
                  new DecodeSettings(SamplingSettings.GREEDY, StopConditions.maxTokens(1000), 0),
                  0,
                  ids -> "",
                  System::nanoTime);
          List<Completion> out =
              BatchDecoder.run(
                  e, List.of(new int[] {5, 6, 7}), List.of(g), List.of(StepObserver.NONE), kv);
          // The context holds 64: 3 prompt tokens, then 61 more; one more token is chosen at
          // the full context, and the run stops there.
          assertThat(out.get(0).stopReason())
              .as("invariant %s, kv %s", invariant, kv)
              .isEqualTo(io.tokendrift.decode.StopReason.CONTEXT_FULL);
          assertThat(out.get(0).tokens()).hasSize(62);
        }
      }
    }
  }
}
