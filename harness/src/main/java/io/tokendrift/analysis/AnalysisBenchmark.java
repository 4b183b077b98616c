package io.tokendrift.analysis;

import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times the analysis on a generated trace of a given size (runs × steps at top-16): references at
 * one point, the other runs spread over 19 more points, small drifts, divergences at random steps.
 */
public final class AnalysisBenchmark {
  /** What one measurement found. */
  public record Result(
      int runs,
      int steps,
      long traceBytes,
      double writeSeconds,
      double analyseSeconds,
      long peakHeapBytes,
      long maxHeapBytes,
      long compared,
      long diverged,
      long baseHeapBytes) {

    /** Heap the analysis held per run at its peak, above what was in use before it began. */
    public double heapPerRunBytes() {
      return Math.max(0, peakHeapBytes - baseHeapBytes) / (double) runs;
    }

    /** Runs analysed per second. */
    public double runsPerSecond() {
      return runs / analyseSeconds;
    }
  }

  private AnalysisBenchmark() {}

  public static Result run(Path dir, int runs, int steps, long seed) throws Exception {
    int points = 20;
    int prompts = Math.max(1, runs / points);
    Path trace = dir.resolve("bench.jsonl");
    long t0 = System.nanoTime();
    write(trace, points, prompts, steps, seed);
    double write = (System.nanoTime() - t0) / 1e9;
    System.gc();
    List<MemoryPoolMXBean> heap =
        ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(b -> b.getType() == MemoryType.HEAP)
            .toList();
    heap.forEach(MemoryPoolMXBean::resetPeakUsage);
    long base = heap.stream().mapToLong(b -> b.getUsage().getUsed()).sum();
    long t1 = System.nanoTime();
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    String json = AnalysisJson.write(a, "");
    double analyse = (System.nanoTime() - t1) / 1e9;
    long peak = heap.stream().mapToLong(b -> b.getPeakUsage().getUsed()).sum();
    long diverged = a.compared().stream().filter(x -> !x.comparison().identical()).count();
    if (json.isEmpty()) {
      throw new IllegalStateException("empty analysis");
    }
    return new Result(
        points * prompts,
        steps,
        Files.size(trace),
        write,
        analyse,
        peak,
        Runtime.getRuntime().maxMemory(),
        a.compared().size(),
        diverged,
        base);
  }

  /** The p-th point: the reference (batch 1) for 0, else batch p + 1 at row p. */
  static PointKey point(int p) {
    return PointKey.parse(
        "device=cpu,batch_size="
            + (p + 1)
            + ",batch_position="
            + p
            + ",summation=native,precision=fp32,threads=1,batch_invariant=false");
  }

  private static void write(Path trace, int points, int prompts, int steps, long seed)
      throws Exception {
    Files.deleteIfExists(trace);
    TraceHeader h =
        new TraceHeader(
            "analysis-bench",
            "b".repeat(64),
            (long) points * prompts,
            point(0).key(),
            Map.of("temperature", "0.0"),
            Map.of("top_k", "16"),
            "all",
            Map.of("model", "generated"));
    SplittableRandom r = new SplittableRandom(seed);
    try (TraceWriter w = TraceWriter.create(trace, h, true).withoutSync()) {
      for (int p = 0; p < points; p++) {
        for (int q = 0; q < prompts; q++) {
          w.write(record(p, q, steps, seed, r));
        }
      }
    }
  }

  /**
   * Prompt q at point p: its own path of logits; off the reference, small drifts and maybe a swap.
   */
  private static RunRecord record(int p, int q, int steps, long seed, SplittableRandom r) {
    SplittableRandom pr = new SplittableRandom(seed * 31 + q); // the prompt's own path
    int div = p == 0 || r.nextDouble() < 0.7 ? -1 : r.nextInt(steps);
    Steps s = new Steps(16, false);
    int[] tokens = new int[steps];
    for (int i = 0; i < steps; i++) {
      int[] ids = new int[16];
      float[] logits = new float[16];
      float top = (float) (8 + pr.nextGaussian());
      for (int j = 0; j < 16; j++) {
        ids[j] = pr.nextInt(50_000);
        logits[j] =
            top - j * (float) pr.nextDouble() - (p == 0 ? 0 : (float) (r.nextGaussian() * 1e-5));
      }
      if (i == div) {
        int t = ids[0];
        ids[0] = ids[1];
        ids[1] = t;
      }
      tokens[i] = i > div && div >= 0 ? r.nextInt(50_000) : ids[0];
      s.add(logits[0], ids, logits, top + 0.5f, 1.5f, Double.NaN, Float.NaN, pr.nextLong(), null);
    }
    return RunRecord.of("r" + p + "-" + q, RunRecord.Status.OK)
        .prompt("p" + q, "prompt " + q)
        .at(point(p).values(), 0, 0)
        .output("MAX_TOKENS", "", new int[] {1, 2, 3}, tokens)
        .batch(1, p + 1, p)
        .steps(s)
        .build();
  }
}
