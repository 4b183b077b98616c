package io.tokendrift.cli;

import io.tokendrift.trace.TraceMerge;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Joins shard traces into one. */
@Command(
    name = "merge",
    header = "Join the traces of an experiment's shards into one.",
    footer = {"", "Example:", "  tokendrift merge shard-*.jsonl --out trace.jsonl"},
    mixinStandardHelpOptions = true,
    description =
        "Join the traces of an experiment's shards into one trace, reporting duplicate and missing runs. Exit codes: 0 complete, 2 bad input, 4 runs missing.")
final class MergeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "TRACE", arity = "1..*", description = "Shard traces.")
  List<Path> inputs;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "Merged trace.")
  Path out;

  @Option(names = "--force", description = "Replace an existing output file.")
  boolean force;

  @Override
  public Integer call() {
    TraceMerge.Result r = TraceMerge.merge(inputs, out, force);
    PrintWriter o = spec.commandLine().getOut();
    o.printf(
        Locale.ROOT,
        "%s: %d runs of %d in the grid from %d traces%n",
        out,
        r.runs(),
        r.gridSize(),
        inputs.size());
    if (!r.duplicates().isEmpty()) {
      o.printf(
          Locale.ROOT,
          "duplicates: %d runs were in more than one trace (first copy kept): %s%n",
          r.duplicates().size(),
          String.join(", ", r.duplicates().subList(0, Math.min(10, r.duplicates().size()))));
    }
    for (String t : r.truncated()) {
      o.printf(Locale.ROOT, "cut-off record at %s (that run is missing; --resume that shard)%n", t);
    }
    if (r.missing() > 0) {
      o.printf(Locale.ROOT, "missing: %d runs (a shard not run, or not finished)%n", r.missing());
      return RunCommand.RUNS_FAILED;
    }
    return Main.OK;
  }
}
