package io.tokendrift.cli;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Partial;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Combines the shards' partial analyses into the analysis of the whole experiment. */
@Command(
    name = "combine",
    header = "Combine the shards' partial analyses into the analysis of the whole experiment.",
    footer = {
      "",
      "Example:",
      "  tokendrift combine part-*.tdp --references refs-*.jsonl --out report/",
      "",
      "Analysis by shards: steps 1 and 2 on every shard, the files gathered between:",
      "  tokendrift analyze shard-I.jsonl --references-out refs-I.jsonl",
      "  tokendrift analyze shard-I.jsonl --partial part-I.tdp --references refs-*",
      "  tokendrift combine part-*.tdp --references refs-* --out report/"
    },
    mixinStandardHelpOptions = true,
    description =
        "Count every shard's partial (analyze SHARD --partial) in shard order, with the rules of one pass over the merged trace: the same analysis.json as merge + analyze, every number exact. Needs one partial per shard and the reference files they were computed with. Exit codes: 0 complete, 2 bad input, 4 runs missing, failed or cut off.")
final class CombineCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "PARTIAL", arity = "1..*", description = "One partial per shard.")
  List<Path> partials;

  @Option(
      names = "--references",
      arity = "1..*",
      required = true,
      paramLabel = "FILE",
      description = "The reference files the partials were computed with (every shard's).")
  List<Path> references;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Report folder (default: the first partial's folder).")
  Path out;

  @Mixin AnalysisFlags flags;

  @Override
  public Integer call() throws java.io.IOException {
    double quantile = flags.floorQuantile();
    var formats = flags.formats();
    // The first reference file is a trace of the experiment: the model's planted near-ties.
    Partial.Combined c =
        Partial.combine(
            partials,
            references,
            AnalyzeCommand.options(references.get(0), quantile, flags.nearTie()));
    Analysis a = AnalyzeCommand.withTokenTexts(c.analysis());
    var o = spec.commandLine().getOut();
    for (String t : c.torn()) {
      o.printf(
          java.util.Locale.ROOT,
          "cut-off record at %s (that run is missing; --resume that shard)%n",
          t);
    }
    Path dir = out != null ? out : partials.get(0).toAbsolutePath().getParent();
    return AnalyzeCommand.written(o, a, dir, formats);
  }
}
