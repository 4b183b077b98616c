package io.tokendrift.cli;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
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
        "Compare every run with its reference run: first divergence, logit drift, margins, noise floors, explained vs unexplained divergences, attribution to axes, statistics. Writes DIR/analysis.json (byte-identical for the same traces).")
final class AnalyzeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "TRACE", arity = "1..*", description = "Traces of one experiment.")
  List<Path> traces;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Report folder (default: the first trace's folder).")
  Path out;

  @Option(
      names = "--floor-quantile",
      defaultValue = "0.99",
      description =
          "Quantile of per-step |Δlogit| taken as a condition's noise floor (default 0.99).")
  double floorQuantile;

  @Option(
      names = "--near-tie",
      defaultValue = "0.6931471805599453",
      description = "Margin (nats) at or below which a step is a near-tie (default ln 2).")
  double nearTie;

  @Option(
      names = "--format",
      defaultValue = "json,md,html",
      paramLabel = "LIST",
      description = "Which files to write: json, md, html (default: all).")
  String format;

  @Override
  public Integer call() throws IOException {
    if (!(floorQuantile > 0 && floorQuantile < 1)) {
      throw new UserInputException("--floor-quantile (" + floorQuantile + ") must be in (0, 1)");
    }
    Set<String> formats = Reports.formats(format);
    Analysis a = analyze(traces, options(traces.get(0), floorQuantile, nearTie));
    // Beside the input, never under the working directory: the same command gives the same files
    // wherever it is run from.
    Path dir = out != null ? out : traces.get(0).toAbsolutePath().getParent();
    PrintWriter o = spec.commandLine().getOut();
    o.println(Sentences.summary(a));
    for (Path p : Reports.write(dir, a, formats)) {
      o.printf(Locale.ROOT, "wrote %s%n", p);
    }
    // Incomplete is never silent, in the exit code either: 4, as run and merge say it.
    boolean incomplete =
        a.missingRuns() > 0 || !a.tornRecords().isEmpty() || a.count(Analyzer.Verdict.FAILED) > 0;
    return incomplete ? RunCommand.RUNS_FAILED : Main.OK;
  }

  /** Analyses, with token texts from the trace's model when it can be found. */
  static Analysis analyze(List<Path> traces, Analyzer.Options o) {
    Analysis a = Analyzer.analyze(traces, o);
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
