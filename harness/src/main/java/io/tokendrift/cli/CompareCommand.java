package io.tokendrift.cli;

import io.tokendrift.analysis.Analyzer;
import io.tokendrift.analysis.Compare;
import io.tokendrift.report.Sentences;
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

/** Compares two experiments. */
@Command(
    name = "compare",
    header = "Compare two traces of one experiment run by run.",
    footer = {
      "",
      "Example:",
      "  tokendrift compare baseline.jsonl candidate.jsonl --json compare.json"
    },
    mixinStandardHelpOptions = true,
    description =
        "Compare experiment B with experiment A: divergence rates within each (Fisher exact), Div_Index distributions (Kolmogorov-Smirnov), and every run of B against its twin in A judged by A's noise floor only, and drift beyond A's tolerance (e.g. a changed model or machine against a baseline). Exit codes: 0 no change, 1 unexplained divergence or drift beyond tolerance, 2 bad input.")
final class CompareCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "A", description = "Baseline trace.")
  Path a;

  @Parameters(index = "1", paramLabel = "B", description = "Trace to compare.")
  Path b;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write compare.json here.")
  Path json;

  @Option(
      names = "--drift-tolerance",
      paramLabel = "NATS",
      description =
          "Largest |Δlogit| between twins that is no change (default: 10 × A's noise floor, at"
              + " least 1e-4).")
  Double tolerance;

  @Override
  public Integer call() throws Exception {
    if (tolerance != null && !(tolerance >= 0 && Double.isFinite(tolerance))) {
      throw new UserInputException("--drift-tolerance (" + tolerance + ") must be >= 0");
    }
    Compare c =
        Compare.of(
            List.of(a),
            List.of(b),
            AnalyzeCommand.options(a, 0.99, Math.log(2)),
            tolerance == null ? Double.NaN : tolerance);
    if (c.pairs().isEmpty()) {
      throw new UserInputException(
          "no run of " + b + " has a twin (same run id) in " + a + ": nothing to compare");
    }
    PrintWriter o = spec.commandLine().getOut();
    String summary = Sentences.compare(c);
    o.println(summary);
    for (Compare.Pair p : c.pairs()) {
      if (p.verdict() == Analyzer.Verdict.UNEXPLAINED) {
        o.printf(
            Locale.ROOT,
            "  UNEXPLAINED: run %s (prompt %s) at %s: diverged at step %d, A's margin there %s >"
                + " threshold %s%n",
            p.id(),
            p.promptId(),
            p.point(),
            p.comparison().divIndex(),
            Sentences.fmt(p.comparison().refMargin()),
            Sentences.fmt(p.threshold()));
      }
    }
    for (Compare.Pair p : c.drifted()) {
      o.printf(
          Locale.ROOT,
          "  DRIFT: run %s (prompt %s) at %s: logits moved by %s > tolerance %s%n",
          p.id(),
          p.promptId(),
          p.point(),
          Sentences.fmt(p.comparison().maxDrift()),
          Sentences.fmt(c.tolerance()));
    }
    if (json != null) {
      Outputs.write(json, c.toJson(summary));
      o.println("compare: " + json);
    }
    return c.changed() ? Main.CHANGED : Main.OK;
  }
}
