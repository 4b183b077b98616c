package io.tokendrift.engine.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.CrossPath;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.Float64Llama;
import io.tokendrift.model.LlamaCheckpoints;
import io.tokendrift.model.LlamaConfig;
import io.tokendrift.model.LlamaWeights;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.spec.ExperimentSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Llama family on the DJL engine against {@link Float64Llama}, the float64 reference written
 * independently in plain Java from transformers' modeling code (its javadoc names the functions and
 * files it follows). Checkpoints: {@link LlamaCheckpoints}'s presets with seeded random weights
 * (GQA 4:1, 2:1 and 1:1; tied and untied heads; attention and MLP biases; Qwen2's q/k/v biases;
 * Qwen3's q/k norms; theta 10,000 to 1,000,000; llama3 rope scaling).
 */
@Tag("numerics")
class LlamaEngineTest {
  @TempDir Path dir;

  /** The engine computes in float32; the reference in float64 (measured: at most ~2e-6 here). */
  private static final double TOLERANCE = 1e-4;

  private static final int STEPS = 32;

  private static final int[][] PROMPTS = {
    {5, 17, 300, 42, 9}, {1, 2}, {77, 78, 79, 80, 81, 82, 83, 84}, {1000}
  };

  static Stream<LlamaConfig> presets() {
    return LlamaCheckpoints.ALL.stream();
  }

  @ParameterizedTest(name = "{index}: {0}")
  @MethodSource("presets")
  void logitsAgreeWithTheFloat64ReferenceOver32GreedyStepsAtBatch1And4(LlamaConfig c) {
    LlamaWeights w = LlamaCheckpoints.random(c, 7);
    Float64Llama ref = new Float64Llama(w);
    try (DjlEngine e = new DjlEngine(w, EngineOptions.DEFAULTS)) {
      for (int size : new int[] {1, 4}) {
        double worst = decodeAgainstReference(e, ref, size, c.modelType());
        assertThat(worst)
            .as("%s batch %d: max |Δlogit|", c.modelType(), size)
            .isLessThan(TOLERANCE);
      }
    }
  }

  @ParameterizedTest(name = "{index}: {0}")
  @MethodSource("presets")
  void batchInvariantModeGivesARowTheSameBitsAtAnyBatchAndStaysOnTheReference(LlamaConfig c) {
    LlamaWeights w = LlamaCheckpoints.random(c, 11);
    Float64Llama ref = new Float64Llama(w);
    EngineOptions inv = EngineOptions.DEFAULTS.withBatchInvariant(true);
    try (DjlEngine e = new DjlEngine(w, inv)) {
      assertThat(e.settings().get("batch_invariant.self_test")).startsWith("passed");
      List<float[][]> alone = new ArrayList<>();
      for (int[] p : PROMPTS) {
        alone.add(greedyLogits(e, List.of(p), 0, 6));
      }
      for (int row = 0; row < PROMPTS.length; row++) {
        float[][] inBatch = greedyLogits(e, Arrays.asList(PROMPTS), row, 6);
        for (int s = 0; s < inBatch.length; s++) {
          assertThat(inBatch[s])
              .as("%s row %d step %d: batch of 4 vs alone", c.modelType(), row, s)
              .containsExactly(alone.get(row)[s]);
        }
      }
      assertThat(decodeAgainstReference(e, ref, 4, c.modelType())).isLessThan(TOLERANCE);
    }
  }

  @Test
  void aShardedMixedPrecisionFolderRunsASpecEndToEnd() throws Exception {
    Path model = dir.resolve("qwen2");
    LlamaCheckpoints.write(model, LlamaCheckpoints.QWEN2, 3, 2, LlamaCheckpoints.MIXED);
    LlamaCheckpoints.copyBundledTokenizer(model, LlamaCheckpoints.QWEN2);
    ModelDir md = ModelDir.open(model);
    assertThat(md.config().modelType()).isEqualTo("qwen2");
    try (TextTokenizer tok = md.tokenizer()) {
      assertThat(tok.bos()).isEqualTo(-1); // Qwen adds no BOS token
    }
    Path spec = dir.resolve("spec.yaml");
    Files.writeString(
        spec,
        "name: qwen\nmodel: qwen2\nprompts: [\"The cat sat on the\", \"At night the sky is\"]\n"
            + "decoding: {temperature: 0, max_tokens: 12}\n"
            + "axes: {batch: {sizes: [1, 4]}, batch_invariant: [false, true]}\n");
    Path trace = dir.resolve("trace.jsonl");
    Runner.Outcome o =
        Runner.run(
            ExperimentSpec.read(spec), Runner.Options.of(trace), Runner.Progress.NONE, line -> {});
    assertThat(o.ok()).isEqualTo(8);
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.header().manifest()).containsEntry("engine", "djl-qwen2");
    for (Analyzer.RunResult r : a.runs()) {
      assertThat(r.length()).isEqualTo(12);
    }
  }

  @Test
  void aTokenizerConfigThatAddsBosPutsItFirst() throws Exception {
    Path model = dir.resolve("llama");
    LlamaCheckpoints.write(model, LlamaCheckpoints.LLAMA_GQA, 3);
    LlamaCheckpoints.copyBundledTokenizer(model, LlamaCheckpoints.LLAMA_GQA);
    Files.writeString(model.resolve("tokenizer_config.json"), "{\"add_bos_token\": true}");
    ModelDir md = ModelDir.open(model);
    LlamaConfig c = (LlamaConfig) md.config();
    try (TextTokenizer tok = md.tokenizer()) {
      int[] ids = tok.encode("The cat");
      assertThat(ids[0]).isEqualTo(c.bosTokenId());
      assertThat(Arrays.copyOfRange(ids, 1, ids.length))
          .containsExactly(TextTokenizer.load(model.resolve("tokenizer.json")).encode("The cat"));
    }
  }

  /**
   * Greedy decoding of the first {@code size} prompts, every row's logits compared with the
   * reference at every step (each row fed the reference's greedy token, which the engine's must
   * equal); returns the largest |Δlogit| seen.
   */
  private static double decodeAgainstReference(
      DjlEngine e, Float64Llama ref, int size, String what) {
    List<int[]> rows = Arrays.asList(PROMPTS).subList(0, size);
    Float64Llama.Decoder[] d = new Float64Llama.Decoder[size];
    double[][] want = new double[size][];
    for (int r = 0; r < size; r++) {
      d[r] = ref.decoder();
      want[r] = d[r].appendAll(rows.get(r));
    }
    // The float64 reference is the truth; float32 rounding may flip a near-tie of the reference
    // (the random checkpoints have some), so a flip passes only within twice the tolerance.
    CrossPath rule = new CrossPath(what + " batch " + size + " vs float64", TOLERANCE);
    try (Batch b = e.start(rows)) {
      boolean[] active = new boolean[size];
      Arrays.fill(active, true);
      for (int s = 0; s < STEPS; s++) {
        int[] next = new int[size];
        for (int r = 0; r < size; r++) {
          next[r] = rule.step(want[r], b.logits(r), "row " + r + " step " + s);
        }
        if (s == 0) {
          CrossPath.negativeControl(b.logits(0), TOLERANCE);
        }
        if (s + 1 < STEPS) {
          b.step(next, active);
          for (int r = 0; r < size; r++) {
            want[r] = d[r].append(next[r]);
          }
        }
      }
    }
    return rule.worst();
  }

  /** Row {@code row}'s logits at the prefill and {@code steps} greedy steps. */
  private static float[][] greedyLogits(DjlEngine e, List<int[]> prompts, int row, int steps) {
    float[][] out = new float[steps + 1][];
    try (Batch b = e.start(prompts)) {
      boolean[] active = new boolean[prompts.size()];
      Arrays.fill(active, true);
      for (int s = 0; s <= steps; s++) {
        out[s] = b.logits(row);
        if (s < steps) {
          int[] next = new int[prompts.size()];
          for (int r = 0; r < next.length; r++) {
            next[r] = argmax(b.logits(r));
          }
          b.step(next, active);
        }
      }
    }
    return out;
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }
}
