package io.tokendrift.analysis;

import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import io.tokendrift.trace.TraceWriter;
import java.io.BufferedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Analysis by shards on a generated trace ({@link AnalysisBenchmark}'s), its runs dealt round-robin
 * to {@code shards} shard traces: each shard's extract and partial timed, the combine timed with
 * its heap, and its analysis.json compared byte for byte with one pass over the shards.
 */
public final class ShardBenchmark {
  /**
   * What one measurement found (seconds, bytes).
   *
   * @param singleSeconds one pass over every shard's trace (as merge + analyze)
   * @param extractSeconds each shard's reference extract
   * @param partialSeconds each shard's partial
   * @param partialLiveHeap the largest heap in use after a collection during any partial
   * @param combineLiveHeap the same during the combine
   * @param identical whether the combine's analysis.json equals the single pass's
   */
  public record Result(
      int runs,
      int steps,
      int shards,
      long traceBytes,
      double singleSeconds,
      long singleLiveHeap,
      double[] extractSeconds,
      long extractBytes,
      double[] partialSeconds,
      long partialBytes,
      long partialLiveHeap,
      double combineSeconds,
      long combineLiveHeap,
      long baseHeap,
      boolean identical) {}

  private ShardBenchmark() {}

  public static Result run(Path dir, int runs, int steps, int shards, long seed) throws Exception {
    int points = 20;
    int prompts = Math.max(1, runs / points);
    Path trace = dir.resolve("bench.jsonl");
    AnalysisBenchmark.write(trace, points, prompts, steps, seed);
    List<Path> shardTraces = split(trace, shards, dir);
    Files.delete(trace);
    long traceBytes = 0;
    for (Path p : shardTraces) {
      traceBytes += Files.size(p);
    }
    Analyzer.Options o = Analyzer.Options.defaults(List.of());
    long base = settledHeap();

    Path single = dir.resolve("single.json");
    long t0 = System.nanoTime();
    long singleHeap;
    try (var live = new AnalysisBenchmark.AfterGc()) {
      write(Analyzer.analyze(shardTraces, o), single);
      singleHeap = Math.max(base, live.max());
    }
    double singleSeconds = (System.nanoTime() - t0) / 1e9;

    List<Path> refs = new ArrayList<>();
    double[] extract = new double[shards];
    long extractBytes = 0;
    for (int i = 0; i < shards; i++) {
      Path r = dir.resolve("refs-" + i + ".jsonl");
      long t = System.nanoTime();
      Partial.extract(shardTraces.get(i), r, false);
      extract[i] = (System.nanoTime() - t) / 1e9;
      extractBytes += Files.size(r);
      refs.add(r);
    }
    List<Path> parts = new ArrayList<>();
    double[] partial = new double[shards];
    long partialBytes = 0;
    long partialHeap = base;
    for (int i = 0; i < shards; i++) {
      Path p = dir.resolve("part-" + i + ".tdp");
      settledHeap();
      long t = System.nanoTime();
      try (var live = new AnalysisBenchmark.AfterGc()) {
        Partial.write(shardTraces.get(i), refs, p, false);
        partialHeap = Math.max(partialHeap, live.max());
      }
      partial[i] = (System.nanoTime() - t) / 1e9;
      partialBytes += Files.size(p);
      parts.add(p);
    }
    Path combined = dir.resolve("combined.json");
    settledHeap();
    long t1 = System.nanoTime();
    long combineHeap;
    try (var live = new AnalysisBenchmark.AfterGc()) {
      write(Partial.combine(parts, refs, o).analysis(), combined);
      combineHeap = Math.max(base, live.max());
    }
    double combineSeconds = (System.nanoTime() - t1) / 1e9;
    boolean identical = Arrays.equals(Files.readAllBytes(single), Files.readAllBytes(combined));
    return new Result(
        points * prompts,
        steps,
        shards,
        traceBytes,
        singleSeconds,
        singleHeap,
        extract,
        extractBytes,
        partial,
        partialBytes,
        partialHeap,
        combineSeconds,
        combineHeap,
        base,
        identical);
  }

  /** The heap in use after a collection. */
  private static long settledHeap() {
    System.gc();
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }

  private static void write(Analysis a, Path json) throws Exception {
    try (var out = new BufferedOutputStream(Files.newOutputStream(json), 1 << 16)) {
      AnalysisJson.write(a, "", out);
    }
  }

  /** Deals the trace's runs round-robin to {@code n} shard traces (headers "i/n"). */
  private static List<Path> split(Path trace, int n, Path dir) {
    List<Path> out = new ArrayList<>();
    List<TraceWriter> w = new ArrayList<>();
    try (TraceReader r = TraceReader.open(trace)) {
      TraceHeader h = r.header();
      for (int i = 0; i < n; i++) {
        Path p = dir.resolve("shard-" + i + ".jsonl");
        out.add(p);
        w.add(TraceWriter.create(p, h.withShard(i + "/" + n), true).withoutSync());
      }
      long k = 0;
      while (r.hasNext()) {
        w.get((int) (k++ % n)).write(r.next());
      }
    } finally {
      w.forEach(TraceWriter::close);
    }
    return out;
  }
}
