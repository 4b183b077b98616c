package io.tokendrift.cli;

import io.tokendrift.check.Baseline;
import io.tokendrift.experiment.Runner;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tokendrift baseline record SPEC --out DIR}: the golden trace a check compares against. */
@Command(
    name = "baseline",
    header = "Record golden traces for tokendrift check.",
    footer = {
      "",
      "Example:",
      "  tokendrift baseline record ci/check.yaml --out ci/baselines/bundled"
    },
    mixinStandardHelpOptions = true,
    description = "Golden recordings for `tokendrift check`.",
    subcommands = {BaselineCommand.Record.class})
final class BaselineCommand {

  /**
   * The warning for a baseline recorded from a checkout with uncommitted changes: the baseline
   * names the code that made it, and from such a tree no commit does.
   */
  static java.util.Optional<String> dirtyWarning(String commit) {
    if (!commit.endsWith("-dirty")) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        "warning: recorded from a checkout with uncommitted changes (tokendrift.commit "
            + commit
            + "): no commit reproduces this baseline; commit first, then record again");
  }

  @Command(
      name = "record",
      header = "Run a spec and keep its trace and manifest as the golden baseline.",
      footer = {
        "",
        "Example:",
        "  tokendrift baseline record ci/check.yaml --out ci/baselines/bundled"
      },
      mixinStandardHelpOptions = true,
      description =
          "Run SPEC and keep its trace as the baseline in DIR (trace.jsonl + manifest.json). An existing baseline is replaced only with --force.")
  static final class Record implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SPEC", description = "Experiment spec.")
    Path specFile;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Baseline folder.")
    Path out;

    @Option(names = "--force", description = "Replace an existing baseline.")
    boolean force;

    @Option(
        names = "--yes",
        description = "Confirm a provider spec above the cost guard (as for run).")
    boolean yes;

    @Override
    public Integer call() throws Exception {
      ExperimentSpec s = ExperimentSpec.read(specFile);
      ProviderCommands.guard(s, yes);
      Files.createDirectories(out);
      Path trace = out.resolve(Baseline.TRACE);
      if (Files.exists(trace) && !force) {
        throw new UserInputException(out + ": a baseline is already there; --force replaces it");
      }
      Runner.Outcome r =
          Runner.run(
              s,
              force ? Runner.Options.of(trace).forcing() : Runner.Options.of(trace),
              Runner.Progress.NONE,
              line -> spec.commandLine().getErr().println(line));
      if (r.failed() > 0) {
        throw new UserInputException(
            r.failed() + " runs failed while recording; a baseline must be complete");
      }
      String commit;
      try (TraceReader reader = TraceReader.open(trace)) {
        Baseline.writeManifest(out, reader.header());
        commit = reader.header().manifest().getOrDefault("tokendrift.commit", "unknown");
      }
      dirtyWarning(commit).ifPresent(spec.commandLine().getErr()::println);
      spec.commandLine()
          .getOut()
          .printf(
              "baseline %s: %d runs (%s, %s)%n", out, r.ok(), Baseline.TRACE, Baseline.MANIFEST);
      return Main.OK;
    }
  }
}
