package io.tokendrift.cli;

import io.tokendrift.check.BadBaselineException;
import io.tokendrift.check.Baseline;
import io.tokendrift.check.Check;
import io.tokendrift.check.CheckOutputs;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.spec.ExperimentSpec;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Runs a spec and compares every run with its golden twin in a baseline. */
@Command(
    name = "check",
    header = "Check a spec's outputs against a golden baseline, telling noise from change.",
    footer = {"", "Example:", "  tokendrift check ci/check.yaml --baseline ci/baselines/bundled"},
    mixinStandardHelpOptions = true,
    description =
        "Run SPEC and compare every run with its golden twin in the baseline. Pass: token-identical, or divergent only at explained near-ties within the budget, with drift within tolerance. Exit codes: 0 pass, 1 changed, 2 bad input (spec, flags, malformed baseline), 3 environment.")
final class CheckCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "SPEC", description = "Experiment spec.")
  Path specFile;

  @Option(
      names = "--baseline",
      required = true,
      paramLabel = "DIR",
      description =
          "Baseline folder, as `tokendrift baseline record SPEC --out DIR` writes it (e.g."
              + " ci/baselines/bundled).")
  Path baseline;

  @Option(names = "--junit", paramLabel = "FILE", description = "Write JUnit XML here.")
  Path junit;

  @Option(names = "--markdown", paramLabel = "FILE", description = "Write Markdown here.")
  Path markdown;

  @Option(
      names = "--trace",
      paramLabel = "FILE",
      description = "Keep the new trace here (default: a temporary file, deleted).")
  Path trace;

  @Option(
      names = "--drift-tolerance",
      paramLabel = "NATS",
      description = "Largest |Δlogit| that passes (default: 10 × the noise floor, at least 1e-4).")
  Double tolerance;

  @Option(
      names = "--accuracy-tolerance",
      paramLabel = "SHARE",
      description =
          "For prompts with an expected answer (expect:): fail when a condition's accuracy moves"
              + " by more than this share from the baseline's (0.05 = 5 points; default: not"
              + " checked).")
  Double accuracyTolerance;

  @Option(
      names = "--force",
      description = "Replace an existing --trace file (never replaced otherwise).")
  boolean force;

  @Option(
      names = "--budget",
      defaultValue = "0.1",
      paramLabel = "SHARE",
      description = "Share of runs that may diverge at explained near-ties (default: 0.1).")
  double budget;

  @Option(
      names = "--yes",
      description = "Confirm a provider spec above the cost guard (as for run).")
  boolean yes;

  @Override
  public Integer call() throws Exception {
    if (!(budget >= 0 && budget <= 1)) {
      throw new UserInputException("--budget (" + budget + ") must be in [0, 1]");
    }
    if (tolerance != null && !(tolerance >= 0 && tolerance < Double.POSITIVE_INFINITY)) {
      throw new UserInputException(
          "--drift-tolerance (" + tolerance + ") must be a finite number >= 0");
    }
    if (accuracyTolerance != null && !(accuracyTolerance >= 0 && accuracyTolerance <= 1)) {
      throw new UserInputException(
          "--accuracy-tolerance (" + accuracyTolerance + ") must be a share in [0, 1]");
    }
    Baseline base = Baseline.open(baseline); // a malformed baseline stops us before any run
    ExperimentSpec s = ExperimentSpec.read(specFile);
    if (accuracyTolerance != null) {
      if (s.expectations().isEmpty()) {
        throw new UserInputException(
            "--accuracy-tolerance: no prompt of " + specFile + " has an expected answer (expect:)");
      }
      if (!base.header().expectations().equals(s.expectations())) {
        throw new UserInputException(
            "--accuracy-tolerance: the baseline's expected answers differ from "
                + specFile
                + "'s (record the baseline again with the spec's expect:)");
      }
    }
    // The same experiment: name, decoding and reference point. The model may differ: a changed
    // model is what a check exists to catch.
    var h = base.header();
    boolean same =
        h.experiment().equals(s.name())
            && h.reference().equals(s.referenceKey())
            && h.decoding().equals(s.decoding().asMap());
    if (!same) {
      throw new BadBaselineException(
          baseline
              + ": was recorded from another experiment ('"
              + h.experiment()
              + "', reference "
              + h.reference()
              + ") than "
              + specFile
              + " ('"
              + s.name()
              + "'): give the baseline of this spec, or record one with `tokendrift baseline"
              + " record "
              + specFile
              + " --out DIR`");
    }
    if (trace != null && Files.exists(trace) && !force) {
      throw new UserInputException(
          "--trace " + trace + ": exists; it is never replaced without --force");
    }
    Outputs.checkWritable(junit, "--junit");
    Outputs.checkWritable(markdown, "--markdown");
    ProviderCommands.guard(s, yes);
    Path t = trace != null ? trace : Files.createTempFile("tokendrift-check", ".jsonl");
    try {
      Runner.run(
          s,
          Runner.Options.of(t).forcing(),
          Runner.Progress.NONE,
          line -> spec.commandLine().getErr().println(line));
      Check.Result r;
      String truth = "";
      // A provider's trace carries its token texts; a local model's tokenizer decodes ids.
      TextTokenizer tok = s.remote() ? null : s.modelDir().tokenizer();
      try {
        r =
            Check.run(
                base,
                t,
                new Check.Options(
                    tolerance == null ? Double.NaN : tolerance,
                    budget,
                    accuracyTolerance == null ? Double.NaN : accuracyTolerance),
                tok == null
                    ? io.tokendrift.analysis.ProviderTexts.of(
                        baseline.resolve(io.tokendrift.check.Baseline.TRACE), t)
                    : tok::tokenText);
        if (tok != null && s.axes().precisions().contains(io.tokendrift.engine.Precision.FP64)) {
          // The new run against its own float64 point: the truth beside the baseline's verdict.
          truth =
              io.tokendrift.report.Sentences.truth(
                  io.tokendrift.analysis.Analyzer.analyze(
                          java.util.List.of(t),
                          io.tokendrift.analysis.Analyzer.Options.defaults(java.util.List.of()))
                      .withTokenText(tok::tokenText));
        }
      } finally {
        if (tok != null) {
          tok.close();
        }
      }
      PrintWriter o = spec.commandLine().getOut();
      o.println(r.summary());
      r.manifestChanges().forEach((k, v) -> o.printf("  changed %s: %s -> %s%n", k, v[0], v[1]));
      r.machineNote().ifPresent(o::println);
      if (!truth.isEmpty()) {
        o.println(truth);
      }
      for (Check.RunVerdict v : r.failures()) {
        o.println("  " + v.message());
      }
      for (String a : r.accuracyChanges()) {
        o.println("  ACCURACY: " + a);
      }
      if (junit != null) {
        Outputs.write(junit, CheckOutputs.junitXml(r));
      }
      if (markdown != null) {
        Outputs.write(markdown, CheckOutputs.markdown(r));
      }
      return r.pass() ? Main.OK : Main.CHANGED;
    } finally {
      if (trace == null) {
        Files.deleteIfExists(t);
      }
    }
  }
}
