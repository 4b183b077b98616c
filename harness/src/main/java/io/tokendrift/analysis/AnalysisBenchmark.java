package io.tokendrift.analysis;

import io.tokendrift.experiment.Point;
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
      long diverged) {}

  private AnalysisBenchmark() {}

  public static Result run(Path dir, int runs, int steps, long seed) throws Exception {
    int points = 20;
    int prompts = Math.max(1, runs / points);
    Point ref =
        Point.parse(
            "device=cpu,batch_size=1,batch_position=0,summation=native,precision=fp32,threads=1,"
                + "batch_invariant=false");
    Path trace = dir.resolve("bench.jsonl");
    Files.deleteIfExists(trace);
    TraceHeader h =
        new TraceHeader(
            "analysis-bench",
            "b".repeat(64),
            (long) points * prompts,
            ref.key(),
            Map.of("temperature", "0.0"),
            Map.of("top_k", "16"),
            "all",
            Map.of("model", "generated"));
    long t0 = System.nanoTime();
    SplittableRandom r = new SplittableRandom(seed);
    try (TraceWriter w = TraceWriter.create(trace, h, true).withoutSync()) {
      for (int p = 0; p < points; p++) {
        Point pt =
            p == 0
                ? ref
                : Point.parse(
                    ref.key()
                        .replace("batch_size=1", "batch_size=" + (p + 1))
                        .replace("batch_position=0", "batch_position=" + p));
        for (int q = 0; q < prompts; q++) {
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
                  top
                      - j * (float) pr.nextDouble()
                      - (p == 0 ? 0 : (float) (r.nextGaussian() * 1e-5));
            }
            if (i == div) {
              int t = ids[0];
              ids[0] = ids[1];
              ids[1] = t;
            }
            tokens[i] = i > div && div >= 0 ? r.nextInt(50_000) : ids[0];
            s.add(
                logits[0],
                ids,
                logits,
                top + 0.5f,
                1.5f,
                Double.NaN,
                Float.NaN,
                pr.nextLong(),
                null);
          }
          w.write(
              new RunRecord(
                  "r" + p + "-" + q,
                  RunRecord.Status.OK,
                  "p" + q,
                  "prompt " + q,
                  pt.values(),
                  0,
                  0,
                  "MAX_TOKENS",
                  "",
                  new int[] {1, 2, 3},
                  tokens,
                  1,
                  pt.batchSize(),
                  pt.batchPosition(),
                  null,
                  s));
        }
      }
    }
    double write = (System.nanoTime() - t0) / 1e9;
    System.gc();
    List<MemoryPoolMXBean> heap =
        ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(b -> b.getType() == MemoryType.HEAP)
            .toList();
    heap.forEach(MemoryPoolMXBean::resetPeakUsage);
    long t1 = System.nanoTime();
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    String json = a.toJson();
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
        diverged);
  }
}
