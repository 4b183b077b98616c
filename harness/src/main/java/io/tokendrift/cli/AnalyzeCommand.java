package io.tokendrift.cli;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.analysis.Partial;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.NearTiesFile;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.report.Reports;
import io.tokendrift.report.Sentences;
import io.tokendrift.tiny.TinyModelBuilder;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Analyses traces into analysis.json. */
@Command(
    name = "analyze",
    header = "Analyse traces: divergences, noise floors, verdicts and statistics.",
    footer = {"", "Example:", "  tokendrift analyze reports/quickstart/trace.jsonl"},
    mixinStandardHelpOptions = true,
    description =
        "Compare every run with its reference run: first divergence, logit drift, margins, noise floors, explained vs unexplained divergences, attribution to axes, statistics. Writes DIR/analysis.json (byte-identical for the same traces). A campaign recorded with run --shard I/N can also be analysed by shards: --references-out, then --partial on each shard, then combine.")
final class AnalyzeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "TRACE", arity = "1..*", description = "Traces of one experiment.")
  List<Path> traces;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Report folder (default: the first trace's folder).")
  Path out;

  @picocli.CommandLine.Mixin AnalysisFlags flags;

  @Option(
      names = "--references-out",
      paramLabel = "FILE",
      description =
          "Analysis by shards, step 1: write the runs of TRACE (one shard's) that may be another run's reference to FILE, a small trace, and stop.")
  Path referencesOut;

  @Option(
      names = "--partial",
      paramLabel = "FILE",
      description =
          "Analysis by shards, step 2: compare every run of TRACE (one shard's) with --references and write a partial analysis to FILE for combine, instead of analysis.json.")
  Path partial;

  @Option(
      names = "--references",
      arity = "1..*",
      paramLabel = "FILE",
      description =
          "With --partial: every shard's reference file (from --references-out), or the shard traces themselves, in any order.")
  List<Path> references;

  @Option(
      names = "--force",
      description = "Replace an existing --references-out or --partial file.")
  boolean force;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    if (referencesOut != null || partial != null) {
      return byShards(o);
    }
    if (references != null || force) {
      throw new UserInputException(
          (references != null ? "--references" : "--force")
              + " goes with --partial (or --references-out)");
    }
    double quantile = flags.floorQuantile();
    Set<String> formats = flags.formats();
    Analysis a = analyze(traces, options(traces.get(0), quantile, flags.nearTie()));
    // Beside the input, never under the working directory: the same command gives the same files
    // wherever it is run from.
    Path dir = out != null ? out : traces.get(0).toAbsolutePath().getParent();
    return written(o, a, dir, formats);
  }

  /** Prints the summary, writes the reports; 4 when runs are missing, failed or cut off. */
  static int written(PrintWriter o, Analysis a, Path dir, Set<String> formats) throws IOException {
    o.println(Sentences.summary(a));
    for (Path p : Reports.write(dir, a, formats)) {
      o.printf(Locale.ROOT, "wrote %s%n", p);
    }
    // Incomplete is never silent, in the exit code either: 4, as run and merge say it.
    boolean incomplete =
        a.missingRuns() > 0 || !a.tornRecords().isEmpty() || a.count(Analyzer.Verdict.FAILED) > 0;
    return incomplete ? RunCommand.RUNS_FAILED : Main.OK;
  }

  /** Steps 1 and 2 of analysis by shards. */
  private int byShards(PrintWriter o) {
    if (traces.size() != 1) {
      throw new UserInputException(
          "--references-out and --partial take one shard's trace, not " + traces.size());
    }
    if (referencesOut != null && partial != null) {
      throw new UserInputException("--references-out and --partial are two steps: one at a time");
    }
    if (out != null) {
      throw new UserInputException("--out names the reports' folder; a shard's step writes FILE");
    }
    for (String f : List.of("--floor-quantile", "--near-tie", "--format")) {
      if (spec.commandLine().getParseResult().hasMatchedOption(f)) {
        throw new UserInputException(
            f + " is a setting of the analysis: give it to combine, not to a shard's step");
      }
    }
    Path trace = traces.get(0);
    if (referencesOut != null) {
      if (references != null) {
        throw new UserInputException("--references goes with --partial, not --references-out");
      }
      long n = Partial.extract(trace, referencesOut, force);
      o.printf(Locale.ROOT, "wrote %s: %d runs that may be references%n", referencesOut, n);
      return Main.OK;
    }
    if (references == null) {
      throw new UserInputException(
          "--partial needs --references: every shard's file from analyze SHARD --references-out");
    }
    Partial.Written w = Partial.write(trace, references, partial, force);
    o.printf(Locale.ROOT, "wrote %s: %d runs compared, for combine%n", partial, w.runs());
    for (String t : w.torn()) {
      o.printf(Locale.ROOT, "cut-off record at %s (that run is missing; --resume the shard)%n", t);
    }
    return w.torn().isEmpty() ? Main.OK : RunCommand.RUNS_FAILED;
  }

  /** Analyses, with token texts from the trace's model when it can be found. */
  static Analysis analyze(List<Path> traces, Analyzer.Options o) {
    return withTokenTexts(Analyzer.analyze(traces, o));
  }

  /** The analysis with token texts from the trace's model when it can be found. */
  static Analysis withTokenTexts(Analysis a) {
    String model = a.header().manifest().getOrDefault("model", "");
    ModelDir dir = null;
    try {
      if (model.equals(BundledModel.NAME)) {
        dir = BundledModel.open();
      } else if (!model.isEmpty() && Files.isDirectory(Path.of(model))) {
        dir = ModelDir.open(Path.of(model));
      }
    } catch (RuntimeException e) {
      dir = null; // reports fall back to token ids
    }
    if (dir != null) {
      try (TextTokenizer tok = dir.tokenizer()) {
        java.util.Map<Integer, String> cache = new java.util.HashMap<>();
        // Fill the cache while the tokenizer is open.
        Reports.analysisJson(a.withTokenText(id -> cache.computeIfAbsent(id, tok::tokenText)));
        java.util.Map<Integer, String> frozen = java.util.Map.copyOf(cache);
        a = a.withTokenText(id -> frozen.getOrDefault(id, "#" + id));
      }
    }
    return a;
  }

  /** Analysis options, with the planted near-ties of the trace's model when it has them. */
  static Analyzer.Options options(Path trace, double quantile, double nearTie) {
    TraceHeader h;
    try (TraceReader r = TraceReader.open(trace)) {
      h = r.header();
    }
    List<Analyzer.PlantedTie> ties = new ArrayList<>();
    String model = h.manifest().getOrDefault("model", "");
    Path file = null;
    if (model.equals(BundledModel.NAME)) {
      file = BundledModel.dir().resolve(TinyModelBuilder.NEAR_TIES);
    } else if (!model.isEmpty()
        && Files.isRegularFile(Path.of(model, TinyModelBuilder.NEAR_TIES))) {
      file = Path.of(model, TinyModelBuilder.NEAR_TIES);
    }
    if (file != null) {
      for (NearTiesFile.Entry e : NearTiesFile.read(file)) {
        ties.add(new Analyzer.PlantedTie(e.id(), e.prefix(), e.kind()));
      }
      for (NearTiesFile.MicroTie m : NearTiesFile.readMicro(file)) {
        ties.add(new Analyzer.PlantedTie(m.id(), m.prompt(), "micro", m.step(), m.path()));
      }
    }
    return new Analyzer.Options(quantile, nearTie, 1000, ties);
  }
}
