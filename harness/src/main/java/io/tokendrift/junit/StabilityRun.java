package io.tokendrift.junit;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.check.Baseline;
import io.tokendrift.check.Check;
import io.tokendrift.check.CheckMessage;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.report.Reports;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link Stability}'s assertions run: the experiment into {@code dir}, then either the
 * analysis (conditions against their reference) or {@code tokendrift check}'s own verdicts against
 * a baseline; the offending runs as one message each.
 */
final class StabilityRun {
  /** Prompts in messages are cut to this many characters. */
  static final int PROMPT_CHARS = 60;

  private StabilityRun() {}

  /** Token texts: the spec's model's tokenizer; a provider's trace carries its own texts. */
  private static final class Texts implements AutoCloseable {
    private final TextTokenizer tok;
    private final java.util.function.IntFunction<String> provider;

    Texts(ExperimentSpec s, Path... traces) {
      this.tok = s.remote() ? null : s.modelDir().tokenizer();
      this.provider = s.remote() ? io.tokendrift.analysis.ProviderTexts.of(traces) : null;
    }

    String tokenText(int id) {
      return tok == null ? provider.apply(id) : tok.tokenText(id);
    }

    @Override
    public void close() {
      if (tok != null) {
        tok.close();
      }
    }
  }

  /** The outcome: the analysis, the messages of the runs that fail, and the report file. */
  record Outcome(Analysis analysis, List<String> failures, Path report, String summary) {}

  static Path trace(ExperimentSpec s, Path dir) {
    Path trace = dir.resolve("trace.jsonl");
    Runner.run(s, Runner.Options.of(trace).forcing(), Runner.Progress.NONE, line -> {});
    return trace;
  }

  /** Conditions against their reference point: strict fails on any divergence. */
  static Outcome againstReference(ExperimentSpec s, Path dir, boolean strict) throws IOException {
    Path trace = trace(s, dir);
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    Map<String, String> errors = errors(trace);
    List<String> failures = new ArrayList<>();
    try (Texts tok = new Texts(s, trace)) {
      a = a.withTokenText(tok::tokenText);
      Reports.write(dir, a, Reports.FORMATS);
      for (Analyzer.RunResult r : a.runs()) {
        Analyzer.Verdict v = r.verdict();
        boolean bad =
            v == Analyzer.Verdict.UNEXPLAINED
                || v == Analyzer.Verdict.FAILED
                || (strict && v == Analyzer.Verdict.EXPLAINED);
        if (!bad) {
          continue;
        }
        if (v == Analyzer.Verdict.FAILED) {
          failures.add(
              "FAILED: prompt \""
                  + shorten(r.prompt())
                  + "\" at "
                  + r.point().key()
                  + ": "
                  + errors.getOrDefault(r.id(), "no reason recorded"));
          continue;
        }
        io.tokendrift.analysis.Reference ref = a.referenceOf(r);
        failures.add(
            CheckMessage.of(
                shorten(r.prompt()),
                r.point().key(),
                ref == null ? new int[0] : ref.tokens(),
                a.runTokens(r),
                r.comparison(),
                v.label(),
                r.threshold(),
                Double.NaN,
                tok::tokenText));
      }
    }
    return new Outcome(
        a, failures, dir.resolve("report.html"), io.tokendrift.report.Sentences.summary(a));
  }

  /**
   * Every run against its golden twin in {@code baseline}, by {@code tokendrift check}'s own code;
   * strict fails on anything but identical. A missing baseline is recorded only when {@code
   * record}.
   */
  static Outcome againstBaseline(
      ExperimentSpec s,
      Path dir,
      Path baseline,
      boolean record,
      boolean strict,
      double budget,
      double tolerance)
      throws IOException {
    Path trace = trace(s, dir);
    if (!Files.isDirectory(baseline)) {
      if (!record) {
        throw new org.opentest4j.AssertionFailedError(
            "no baseline at "
                + baseline
                + "; record it once with -Dtokendrift.record=true (or .recordBaselineIfMissing())");
      }
      Files.createDirectories(baseline);
      Files.copy(trace, baseline.resolve(Baseline.TRACE), StandardCopyOption.REPLACE_EXISTING);
      try (TraceReader r = TraceReader.open(trace)) {
        Baseline.writeManifest(baseline, r.header());
      }
    }
    Check.Result r;
    try (Texts tok = new Texts(s, trace, baseline.resolve(Baseline.TRACE))) {
      r =
          Check.run(
              Baseline.open(baseline),
              trace,
              new Check.Options(tolerance, strict ? 0 : budget),
              tok::tokenText);
    }
    List<String> failures = new ArrayList<>();
    for (Check.RunVerdict v : r.failures()) {
      failures.add(v.message());
    }
    if (strict) {
      for (Check.RunVerdict v : r.runs()) {
        if (v.verdict() != Check.Verdict.IDENTICAL && v.pass()) {
          failures.add(v.message());
        }
      }
    }
    if (!r.pass() && failures.isEmpty()) {
      failures.add(r.summary()); // e.g. more explained divergences than the budget allows
    }
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    Reports.write(dir, a, Reports.FORMATS);
    return new Outcome(a, failures, dir.resolve("report.html"), r.summary());
  }

  /** Failed runs' reasons, by run id (the analysis keeps verdicts, the trace keeps the reasons). */
  private static Map<String, String> errors(Path trace) {
    Map<String, String> out = new HashMap<>();
    try (TraceReader r = TraceReader.open(trace)) {
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (rec.status() == RunRecord.Status.FAILED && rec.error() != null) {
          out.put(rec.id(), rec.error());
        }
      }
    }
    return out;
  }

  static String shorten(String prompt) {
    String p = prompt.replace("\n", "\\n");
    return p.length() <= PROMPT_CHARS ? p : p.substring(0, PROMPT_CHARS - 1) + "…";
  }
}
