package io.tokendrift.cli;

import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.model.ModelFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code tokendrift} command line. Exit codes: 0 success or check passed, 1 a real change
 * (check failed; compare found an unexplained divergence or drift beyond tolerance), 2 bad input, 3
 * environment (a missing GPU, engine or model).
 */
@Command(
    name = "tokendrift",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Determinism and reproducibility harness for LLM text generation.",
    subcommands = {
      ExplainCommand.class,
      GenerateCommand.class,
      BenchCommand.class,
      TrainTinyCommand.class,
      RunCommand.class,
      MergeCommand.class,
      AnalyzeCommand.class,
      CompareCommand.class,
      ReportCommand.class,
      BaselineCommand.class,
      CheckCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main {
  /** Success. */
  public static final int OK = 0;

  /** A real change: check failed, or compare found unexplained divergence or drift. */
  public static final int CHANGED = 1;

  /** The input (flags, spec, trace, baseline) was invalid. */
  public static final int BAD_INPUT = 2;

  /** The environment cannot run the request (no GPU, no engine, no model). */
  public static final int ENVIRONMENT = 3;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code, without exiting (for tests). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The configured picocli command line. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler(
        (ex, cmd, parseResult) -> {
          if (ex instanceof IllegalArgumentException
              || ex instanceof UserInputException
              || ex instanceof ModelFormatException) {
            cmd.getErr().println("tokendrift: " + ex.getMessage());
            return BAD_INPUT;
          }
          if (ex instanceof EnvironmentException) {
            cmd.getErr().println("tokendrift: " + ex.getMessage());
            return ENVIRONMENT;
          }
          throw ex;
        });
    return cl;
  }
}
