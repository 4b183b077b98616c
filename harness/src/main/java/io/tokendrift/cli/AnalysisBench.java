package io.tokendrift.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;

/** {@code bench --analysis-runs}: the analysis of a generated trace, timed, and its heap. */
final class AnalysisBench {
  private AnalysisBench() {}

  /**
   * Writes a trace of {@code runs} × {@code steps} at top-16, analyses it and prints the figures;
   * keeps the trace as {@code keepTrace} when given (refused if that file exists).
   */
  static int run(PrintWriter out, int runs, int steps, Path keepTrace) throws Exception {
    if (keepTrace != null && java.nio.file.Files.exists(keepTrace)) {
      throw new IllegalArgumentException(
          "--keep-trace " + keepTrace + ": the file exists; give a new name (nothing is replaced)");
    }
    Path tmp = java.nio.file.Files.createTempDirectory("tokendrift-bench");
    try {
      var r = io.tokendrift.analysis.AnalysisBenchmark.run(tmp, runs, steps, 1);
      out.printf(
          Locale.ROOT,
          "analysis: %d runs x %d steps at top-16, trace %,d bytes (%.0f bytes/step), written"
              + " in %.1f s%nanalysed in %.2f s (%,.0f runs/s); peak heap %,d MB of %,d MB max"
              + " (pools' peaks summed: an upper bound; %,.1f KB per run above the %,d MB in"
              + " use before); after collections at most %,d MB in use (%,.2f KB per run);"
              + " the finished analysis holds %,.1f MB: %,.1f MB of references kept whole"
              + " (budget %,d MB), %,.1f MB of spill in the heap (at most 2 x %,d MB), %,.0f"
              + " bytes per run beyond; %d compared, %d diverged%n",
          r.runs(),
          r.steps(),
          r.traceBytes(),
          r.traceBytes() / (double) ((long) r.runs() * r.steps()),
          r.writeSeconds(),
          r.analyseSeconds(),
          r.runsPerSecond(),
          r.peakHeapBytes() >> 20,
          r.maxHeapBytes() >> 20,
          r.heapPerRunBytes() / 1024,
          r.baseHeapBytes() >> 20,
          r.liveHeapBytes() >> 20,
          r.liveHeapPerRunBytes() / 1024,
          (r.heldHeapBytes() - r.baseHeapBytes()) / 1048576.0,
          r.wholeReferenceBytes() / 1048576.0,
          io.tokendrift.analysis.Analyzer.referenceBudget() >> 20,
          r.spillHeapBytes() / 1048576.0,
          io.tokendrift.analysis.Analyzer.spillInHeap() >> 20,
          r.heldPerRunBytes(),
          r.compared(),
          r.diverged());
      if (keepTrace != null) {
        java.nio.file.Files.move(tmp.resolve("bench.jsonl"), keepTrace);
        out.println("trace kept: " + keepTrace);
      }
    } finally {
      Outputs.deleteTree(tmp);
    }
    return Main.OK;
  }

  /** Analysis by shards of a generated trace dealt to {@code shards} shards: the figures. */
  static int shards(PrintWriter out, int runs, int steps, int shards) throws Exception {
    if (shards < 2) {
      throw new UserInputException("--analysis-shards (" + shards + ") must be at least 2");
    }
    Path tmp = java.nio.file.Files.createTempDirectory("tokendrift-bench");
    try {
      var r = io.tokendrift.analysis.ShardBenchmark.run(tmp, runs, steps, shards, 1);
      double partialMax = java.util.Arrays.stream(r.partialSeconds()).max().orElse(0);
      double extractMax = java.util.Arrays.stream(r.extractSeconds()).max().orElse(0);
      out.printf(
          Locale.ROOT,
          "analysis by %d shards: %d runs x %d steps at top-16, traces %,d bytes%n"
              + "one pass over the shards: %.2f s, after collections at most %,d MB in use%n"
              + "extracts: %,d bytes in all (%.1f%% of the traces), %.2f s for the slowest shard%n"
              + "partials: %,d bytes in all (%.0f bytes per run), %.2f s for the slowest shard"
              + " (%.2f s in all), after collections at most %,d MB in use%n"
              + "combine: %.2f s, after collections at most %,d MB in use (%,d MB before)%n"
              + "shards' wall time (slowest extract + slowest partial + combine): %.2f s vs one"
              + " pass %.2f s; combined analysis.json %s the one pass's%n",
          r.shards(),
          r.runs(),
          r.steps(),
          r.traceBytes(),
          r.singleSeconds(),
          r.singleLiveHeap() >> 20,
          r.extractBytes(),
          100.0 * r.extractBytes() / r.traceBytes(),
          extractMax,
          r.partialBytes(),
          r.partialBytes() / (double) r.runs(),
          partialMax,
          java.util.Arrays.stream(r.partialSeconds()).sum(),
          r.partialLiveHeap() >> 20,
          r.combineSeconds(),
          r.combineLiveHeap() >> 20,
          r.baseHeap() >> 20,
          extractMax + partialMax + r.combineSeconds(),
          r.singleSeconds(),
          r.identical() ? "byte-identical to" : "DIFFERS from");
      return r.identical() ? Main.OK : Main.ENVIRONMENT;
    } finally {
      Outputs.deleteTree(tmp);
    }
  }
}
