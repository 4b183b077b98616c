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
      long baseHeapBytes,
      long liveHeapBytes,
      long heldHeapBytes,
      long wholeReferenceBytes,
      long spillHeapBytes) {

    /** Heap the analysis held per run at its peak, above what was in use before it began. */
    public double heapPerRunBytes() {
      return Math.max(0, peakHeapBytes - baseHeapBytes) / (double) runs;
    }

    /**
     * Heap per run still in use after the collections during the analysis, at their largest, above
     * what was in use before: what the analysis kept (the peak also counts garbage not yet
     * collected, which a larger heap lets pile up).
     */
    public double liveHeapPerRunBytes() {
      return Math.max(0, liveHeapBytes - baseHeapBytes) / (double) runs;
    }

    /**
     * Heap per run the finished analysis holds (after a collection), above the heap before, less
     * its fixed budgets (whole references, spills' heap): what grows with the runs.
     */
    public double heldPerRunBytes() {
      return Math.max(0, heldHeapBytes - baseHeapBytes - wholeReferenceBytes - spillHeapBytes)
          / (double) runs;
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
    AfterGc live = new AfterGc();
    long t1 = System.nanoTime();
    Analysis a;
    Path json = dir.resolve("analysis.json");
    long held;
    long[] budgets;
    double paused;
    try {
      a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
      // What the finished analysis holds (a collection, not timed).
      long g0 = System.nanoTime();
      System.gc();
      held = heap.stream().mapToLong(b -> b.getUsage().getUsed()).sum();
      budgets = a.heapBudgets();
      paused = (System.nanoTime() - g0) / 1e9;
      // As `analyze` writes it: streamed to its file.
      try (var out = new java.io.BufferedOutputStream(Files.newOutputStream(json), 1 << 16)) {
        AnalysisJson.write(a, "", out);
      }
    } finally {
      live.close();
    }
    double analyse = (System.nanoTime() - t1) / 1e9 - paused;
    long peak = heap.stream().mapToLong(b -> b.getPeakUsage().getUsed()).sum();
    long diverged = a.compared().stream().filter(x -> !x.comparison().identical()).count();
    if (Files.size(json) == 0) {
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
        base,
        Math.max(base, live.max()),
        held,
        budgets[0],
        budgets[1]);
  }

  /** The largest heap in use right after a collection, while it listens (GC notifications). */
  static final class AfterGc implements javax.management.NotificationListener, AutoCloseable {
    private final List<java.lang.management.GarbageCollectorMXBean> beans =
        ManagementFactory.getGarbageCollectorMXBeans();
    private final java.util.Set<String> heapPools =
        ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(p -> p.getType() == MemoryType.HEAP)
            .map(MemoryPoolMXBean::getName)
            .collect(java.util.stream.Collectors.toSet());
    private volatile long max;

    AfterGc() {
      for (var b : beans) {
        ((javax.management.NotificationEmitter) b).addNotificationListener(this, null, null);
      }
    }

    @Override
    public void handleNotification(javax.management.Notification n, Object handback) {
      if (!n.getType()
          .equals(
              com.sun.management.GarbageCollectionNotificationInfo
                  .GARBAGE_COLLECTION_NOTIFICATION)) {
        return;
      }
      var info =
          com.sun.management.GarbageCollectionNotificationInfo.from(
              (javax.management.openmbean.CompositeData) n.getUserData());
      long used = 0;
      for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
        if (heapPools.contains(e.getKey())) {
          used += e.getValue().getUsed();
        }
      }
      synchronized (this) {
        max = Math.max(max, used);
      }
    }

    long max() {
      return max;
    }

    @Override
    public void close() {
      for (var b : beans) {
        try {
          ((javax.management.NotificationEmitter) b).removeNotificationListener(this);
        } catch (javax.management.ListenerNotFoundException e) {
          // not registered: nothing to remove
        }
      }
    }
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

  static void write(Path trace, int points, int prompts, int steps, long seed) throws Exception {
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
