package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The analysis keeps a run small: its drift, tokens and text in a spill, the floors from value
 * counts read run by run. Each check compares with the whole-array computation the analysis made
 * before ({@link Stats#quantile}, {@link Stats#bootstrapQuantile} on the concatenation), or the
 * spill in memory with the spill on disk.
 */
class BoundedAnalysisTest {
  @TempDir Path dir;

  /** Values with many repeats (multiples of an ulp, as drifts are), zeros of both signs, a NaN. */
  private static float[] drifts(SplittableRandom r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      int kind = r.nextInt(100);
      v[i] =
          kind == 0
              ? -0.0f
              : kind == 1
                  ? 0.0f
                  : kind == 2 && r.nextInt(50) == 0 ? Float.NaN : r.nextInt(40) * 9.5367432e-7f;
    }
    return v;
  }

  @Test
  void countsGiveTheQuantilesAndTheSortedValuesOfTheWholeArray() {
    SplittableRandom r = new SplittableRandom(7);
    // Past one chunk (2^18 values), so chunks merge; and a small one.
    for (int n : new int[] {1, 2, 17, 1000, 700_000}) {
      float[] v = drifts(r, n);
      FloatCounts c = new FloatCounts();
      for (int at = 0; at < n; ) {
        int len = Math.min(n - at, 1 + r.nextInt(5000));
        c.add(Arrays.copyOfRange(v, at, at + len));
        at += len;
      }
      assertThat(c.size()).isEqualTo(n);
      for (double q : new double[] {0, 0.01, 0.5, 0.9, 0.99, 0.999, 1}) {
        // Double.equals: NaN equals NaN, -0.0 differs from 0.0: the same bits.
        assertThat(Double.valueOf(c.quantile(q)))
            .as("n=%d q=%s", n, q)
            .isEqualTo(Double.valueOf(Stats.quantile(v, q)));
      }
      float[] sorted = v.clone();
      Arrays.sort(sorted);
      assertThat(bits(c.sorted())).isEqualTo(bits(sorted));
      assertThat(c.distinct()).isLessThanOrEqualTo(42); // 40 multiples, -0.0, NaN
    }
  }

  private static int[] bits(float[] v) {
    int[] b = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = Float.floatToIntBits(v[i]);
    }
    return b;
  }

  private static RunResult run(String id, int steps) {
    Comparison c =
        new Comparison(
            -1,
            0,
            steps,
            new float[0],
            0,
            0,
            0,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            false);
    return new RunResult(
        id,
        "p",
        "p",
        0,
        0,
        PointKey.parse("batch_size=2"),
        RunRecord.Status.OK,
        steps,
        0,
        c,
        Analyzer.Verdict.IDENTICAL,
        Double.NaN,
        false,
        -1);
  }

  @Test
  void aFloorReadRunByRunEqualsTheFloorOfTheConcatenation() {
    SplittableRandom r = new SplittableRandom(11);
    Analyzer.Options o = Analyzer.Options.defaults(List.of());
    // 30 runs (under the bootstrap's 20,000-value cap) and 150 runs (over it: the strided sample
    // depends on the runs' order), lengths 0..400 (0 as a run compared by text has).
    for (int runs : new int[] {30, 150}) {
      List<RunResult> group = new ArrayList<>();
      Map<String, float[]> drift = new HashMap<>();
      List<float[]> parts = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        int len = r.nextInt(8) == 0 ? 0 : r.nextInt(401);
        float[] d = drifts(r, len);
        group.add(run("r" + i, len));
        drift.put("r" + i, d);
        parts.add(d);
      }
      float[] all = new float[parts.stream().mapToInt(p -> p.length).sum()];
      int at = 0;
      for (float[] p : parts) {
        System.arraycopy(p, 0, all, at, p.length);
        at += p.length;
      }
      assertThat(all.length > Floors.BOOTSTRAP_CAP).isEqualTo(runs == 150);
      Stats.Estimate whole =
          Stats.bootstrapQuantile(
              all,
              o.floorQuantile(),
              o.resamples(),
              Floors.BOOTSTRAP_CAP,
              Floors.BOOTSTRAP_SEED + 3);
      Stats.Estimate streamed = Floors.floor(group, x -> drift.get(x.id()), 3, o);
      assertThat(streamed).isEqualTo(whole);
    }
  }

  @Test
  void theSpillKeepsEachEntryInMemoryAndOnDisk() {
    for (int threshold : new int[] {RunSpill.IN_MEMORY, 64}) {
      RunSpill s = new RunSpill(threshold);
      long a = s.put(new float[] {1.5f, -0.0f}, null, null);
      long b = s.put(null, new int[] {7, 8, 9}, "naïve ✓ text");
      long c = s.put(new float[0], new int[0], "");
      long d = s.put(new float[300], new int[] {1}, "x");
      s.finish();
      assertThat(s.onDisk()).isEqualTo(threshold == 64);
      assertThat(s.drift(a)).containsExactly(1.5f, -0.0f);
      assertThat(s.tokens(a)).isNull();
      assertThat(s.text(a)).isNull();
      assertThat(s.drift(b)).isEmpty();
      assertThat(s.tokens(b)).containsExactly(7, 8, 9);
      assertThat(s.text(b)).isEqualTo("naïve ✓ text");
      assertThat(s.tokens(c)).isEmpty();
      assertThat(s.text(c)).isEmpty();
      assertThat(s.drift(d)).hasSize(300);
      assertThat(s.text(d)).isEqualTo("x");
    }
  }

  @Test
  void setAsideReferencesGiveTheSameAnalysisWithGroupsAndTheTruth() throws Exception {
    // Mode-axis groups (their own references), a float64 point (the truth), the bundled model.
    Path spec = dir.resolve("bounded.yaml");
    java.nio.file.Files.writeString(
        spec,
        """
        name: bounded
        model: bundled
        prompts:
          - {id: sky, text: "At night the sky is"}
          - {id: weather, text: "The weather today is"}
        decoding: {max_tokens: 12}
        axes:
          batch: {sizes: [1, 4], positions: [first, last]}
          batch_invariant: [false, true]
          precision: [fp32, fp64]
        reference: {batch_size: 1, precision: fp32, batch_invariant: false}
        """);
    Path trace = dir.resolve("bounded.jsonl");
    io.tokendrift.experiment.Runner.run(
        new io.tokendrift.experiment.Plan(io.tokendrift.spec.ExperimentSpec.read(spec)),
        io.tokendrift.experiment.Runner.Options.of(trace),
        io.tokendrift.experiment.Runner.Progress.NONE,
        l -> {});
    Analyzer.Options o = Analyzer.Options.defaults(List.of());
    Analysis held = Analyzer.analyze(List.of(trace), o);
    Analysis setAside = Analyzer.analyze(List.of(trace), o, 0);
    assertThat(held.heapBudgets()[0]).isPositive(); // references kept whole
    assertThat(setAside.heapBudgets()[0]).isZero(); // every one read back from the spill
    assertThat(setAside.truth()).isNotNull();
    assertThat(setAside.groups()).isNotEmpty();
    assertThat(AnalysisJson.write(setAside, "")).isEqualTo(AnalysisJson.write(held, ""));
  }

  @Test
  void charactersBeyondTheBasicPlaneAreWrittenAsTheyAre() throws Exception {
    // A divergent run whose text has an emoji: analysis.json holds it as UTF-8, as the whole tree
    // written as one string did, not as an escaped surrogate pair.
    Path trace = dir.resolve("emoji.jsonl");
    io.tokendrift.trace.TraceHeader h =
        new io.tokendrift.trace.TraceHeader(
            "emoji",
            "c".repeat(64),
            2,
            "batch_size=1",
            Map.of("temperature", "0.0"),
            Map.of("top_k", "2"),
            "all",
            Map.of("model", "generated"));
    try (var w = io.tokendrift.trace.TraceWriter.create(trace, h, true).withoutSync()) {
      for (int b : new int[] {1, 2}) {
        io.tokendrift.trace.Steps st = new io.tokendrift.trace.Steps(2, false);
        st.add(
            5f,
            new int[] {7, b == 1 ? 8 : 9},
            new float[] {5f, 4f},
            6f,
            1f,
            Double.NaN,
            Float.NaN,
            0L,
            null);
        st.add(
            5f,
            b == 1 ? new int[] {7, 8} : new int[] {8, 7},
            new float[] {5f, 4.9f},
            6f,
            1f,
            Double.NaN,
            Float.NaN,
            0L,
            null);
        w.write(
            RunRecord.of("r" + b, RunRecord.Status.OK)
                .prompt("p", "prompt 😀")
                .at(Map.of("batch_size", String.valueOf(b)), 0, 0)
                .output(
                    "MAX_TOKENS",
                    b == 1 ? "ab" : "a😀",
                    new int[] {1},
                    b == 1 ? new int[] {7, 7} : new int[] {7, 8})
                .batch(1, b, 0)
                .steps(st)
                .build());
      }
    }
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.divIndices()).containsExactly(1.0);
    String json = AnalysisJson.write(a, "");
    assertThat(json).contains("\"run_text\" : \"a😀\"").doesNotContain("\\uD83D");
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    AnalysisJson.write(a, "", out);
    assertThat(out.toByteArray()).isEqualTo(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void anAnalysisWithItsSpillOnDiskWritesTheSameJson() throws Exception {
    Path trace = dir.resolve("t.jsonl");
    AnalysisBenchmark.write(trace, 20, 10, 48, 5);
    Analyzer.Options o = Analyzer.Options.defaults(List.of());
    Analysis inMemory = Analyzer.analyze(List.of(trace), o);
    Analysis onDisk = Analyzer.analyze(List.of(trace), o, 0);
    assertThat(inMemory.spilledToDisk()).isFalse();
    assertThat(onDisk.spilledToDisk()).isTrue();
    assertThat(inMemory.divIndices()).isNotEmpty();
    assertThat(AnalysisJson.write(onDisk, "")).isEqualTo(AnalysisJson.write(inMemory, ""));
    // What the analysis did not keep is refused, not made up.
    RunResult same =
        onDisk.compared().stream()
            .filter(x -> x.comparison().identical())
            .findFirst()
            .orElseThrow();
    assertThatThrownBy(() -> onDisk.runText(same))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(same.id());
    assertThat(onDisk.drift(same)).hasSize(same.comparison().alignedSteps());
  }
}
