package io.tokendrift.cli;

import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.model.ModelFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code tokendrift} command line. Exit codes: 0 success or check passed, 1 a real change
 * (check failed; compare found an unexplained divergence or drift beyond tolerance), 2 bad input, 3
 * environment (a missing GPU, engine or model; unreadable, unwritable or full disks) or an
 * unexpected failure, 4 runs failed.
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
      CombineCommand.class,
      CompareCommand.class,
      ReportCommand.class,
      BaselineCommand.class,
      CheckCommand.class,
      ServeCommand.class,
      ExportCommand.class,
      ForkChildCommand.class,
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

  private static volatile boolean verboseFlag;

  /** {@code --verbose}, accepted by every command: errors print their stack trace too. */
  @CommandLine.Option(
      names = "--verbose",
      scope = CommandLine.ScopeType.INHERIT,
      description = "Print the stack trace of an error (also: TOKENDRIFT_VERBOSE=1).")
  void setVerbose(boolean v) {
    verboseFlag = v;
  }

  /** Stack traces on errors: {@code --verbose} or {@code TOKENDRIFT_VERBOSE=1}. */
  static boolean verbose() {
    return verboseFlag || "1".equals(System.getenv("TOKENDRIFT_VERBOSE"));
  }

  /**
   * Each failure kind has one exit code: bad input 2; environment, I/O (unreadable, unwritable or
   * full) and anything unexpected 3 — never 1, which only a real change may return.
   */
  static int exitCode(Throwable ex) {
    if (ex instanceof IllegalArgumentException
        || ex instanceof UserInputException
        || ex instanceof ModelFormatException
        || ex instanceof java.nio.file.NoSuchFileException
        || (ex instanceof java.io.UncheckedIOException
            && ex.getCause() instanceof java.nio.file.NoSuchFileException)) {
      // A file named on the command line that is not there is the input's fault; one that is
      // there but cannot be read is the environment's.
      return BAD_INPUT;
    }
    return ENVIRONMENT;
  }

  /**
   * One line: the failure's own message, or for I/O and unexpected errors what failed and where.
   */
  static String message(Throwable ex) {
    Throwable t =
        ex instanceof java.io.UncheckedIOException && ex.getCause() != null ? ex.getCause() : ex;
    if (t instanceof java.nio.file.NoSuchFileException e) {
      return e.getFile() + ": no such file or folder";
    }
    if (t instanceof java.nio.file.AccessDeniedException e) {
      return e.getFile() + ": permission denied";
    }
    if (t instanceof java.nio.file.FileSystemException e) {
      return e.getFile()
          + ": "
          + (e.getReason() == null ? e.getClass().getSimpleName() : e.getReason());
    }
    if (t instanceof java.io.IOException) {
      return "I/O error: " + t.getMessage();
    }
    if (ex instanceof IllegalArgumentException
        || ex instanceof UserInputException
        || ex instanceof ModelFormatException
        || ex instanceof io.tokendrift.model.ModelMissingException
        || ex instanceof io.tokendrift.trace.TraceLockedException
        || ex instanceof EnvironmentException) {
      return ex.getMessage();
    }
    return "unexpected error (a bug; please report it with the stack trace --verbose prints): "
        + ex.getClass().getSimpleName()
        + (ex.getMessage() == null ? "" : ": " + ex.getMessage());
  }

  /**
   * A command line picocli cannot take (a missing required option, an unknown one, a bad value):
   * one line saying what, the help of each missing option, a suggestion for a misspelled one, and
   * where the whole usage is — not the whole usage text.
   */
  private static int badArguments(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    java.io.PrintWriter err = cmd.getErr();
    String name = cmd.getCommandSpec().qualifiedName();
    err.println(name + ": " + ex.getMessage());
    if (ex instanceof CommandLine.MissingParameterException m) {
      for (CommandLine.Model.ArgSpec a : m.getMissing()) {
        String label =
            a instanceof CommandLine.Model.OptionSpec o
                ? o.longestName() + (o.arity().max() > 0 ? "=" + o.paramLabel() : "")
                : a.paramLabel();
        err.println("  " + label + "  " + String.join(" ", a.description()));
      }
    }
    CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
    err.println("(`" + name + " --help` shows every option)");
    err.flush();
    return cmd.getCommandSpec().exitCodeOnInvalidInput();
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code, without exiting (for tests). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The configured picocli command line. */
  public static CommandLine commandLine() {
    verboseFlag = false;
    CommandLine cl = new CommandLine(new Main());
    HelpLayout.install(cl);
    cl.setParameterExceptionHandler(Main::badArguments);
    cl.setExecutionExceptionHandler(
        (ex, cmd, parseResult) -> {
          int code = exitCode(ex);
          cmd.getErr().println("tokendrift: " + message(ex));
          if (verbose()) {
            java.io.StringWriter trace = new java.io.StringWriter();
            ex.printStackTrace(new java.io.PrintWriter(trace)); // asked for with --verbose
            cmd.getErr().print(trace);
          }
          cmd.getErr().flush();
          return code;
        });
    return cl;
  }
}
