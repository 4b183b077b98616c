package io.tokendrift.experiment;

import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.spec.EnvReader;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.ProcessInfo;
import io.tokendrift.trace.RunLines;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A forked child's entry point ({@link ForkedExecutor} starts it, as JMH starts its {@code
 * ForkedMain}), started through the CLI's hidden {@code fork-child} command (only the CLI ends a
 * JVM with an exit code): reads its job, plans the spec it names (refusing one that changed since
 * the parent started), then runs each forward-pass group the parent sends through a {@link
 * LocalExecutor} in this process — whose environment the parent set — and answers with its records
 * ({@link ForkLink}). Exit 0 when its input ends, 3 when the job cannot be done (one typed failure
 * line said why).
 */
public final class ForkedMain {
  /**
   * Fault injection for the tests of crash handling: a child whose JVM has this property set to n
   * halts (exit 134, as an abort) right after sending its n-th record. The parent passes every
   * {@code tokendrift.fault.*} property it has on to its children.
   */
  static final String FAULT_EXIT_AFTER = "tokendrift.fault.child_exit_after";

  private ForkedMain() {}

  /**
   * How a parent starts a child: the CLI's entry point and its hidden command, which calls {@link
   * #run} and exits with its code. Named, not imported: experiment sits below cli.
   */
  static final List<String> ENTRY = List.of("io.tokendrift.cli.Main", "fork-child");

  /**
   * Runs the job in {@code jobFile}; returns the child's exit code: 0 when its input ended, 3 when
   * the job could not be done (a typed failure line said why).
   */
  public static int run(Path jobFile) {
    // Standard output carries the link only: anything else printing to it goes to stderr.
    PrintStream link =
        new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    int code = 0;
    try {
      ForkLink.Job job = ForkLink.Job.parse(Files.readString(jobFile));
      ExperimentSpec spec = job.read();
      Plan plan = new Plan(spec);
      ProcessInfo me = new ProcessInfo(job.env(), ProcessHandle.current().pid(), settableVars());
      int exitAfter = Integer.getInteger(FAULT_EXIT_AFTER, -1);
      int[] sent = {0};
      ModelDir dir = spec.modelDir();
      EngineSet engines = EngineSet.of(spec, dir);
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      try (TextTokenizer tok = dir.tokenizer();
          LocalExecutor x = new LocalExecutor(spec, engines, dir, tok)) {
        String line;
        while ((line = in.readLine()) != null) {
          ForkLink.Command c = ForkLink.Command.parse(line);
          Plan.Pass pass = plan.batches().get(c.index());
          if (!pass.runIds().equals(c.runs())) {
            throw new IllegalStateException(
                "the parent's batch " + c.index() + " holds other runs than this child's plan");
          }
          x.execute(
              pass,
              c.done(),
              r -> {
                send(link, ForkLink.RECORD + RunLines.encode(r.withProcess(me)));
                if (++sent[0] == exitAfter) {
                  System.err.println(
                      "tokendrift child: fault injection: halting after " + exitAfter);
                  System.err.flush();
                  Runtime.getRuntime().halt(134);
                }
              });
          send(link, ForkLink.END + c.index());
        }
      }
    } catch (Exception | LinkageError e) {
      System.err.println("tokendrift child: " + io.tokendrift.engine.Failures.describe(e));
      send(link, ForkLink.FAILURE + ForkLink.Failure.of(e).json());
      code = 3;
    }
    return code;
  }

  private static void send(PrintStream link, String line) {
    link.println(line);
    link.flush();
    if (link.checkError()) {
      throw new IllegalStateException("the parent stopped reading: giving up");
    }
  }

  /** The variables the env axis may set, as this process has them (its own among them). */
  private static SortedMap<String, String> settableVars() {
    SortedMap<String, String> vars = new TreeMap<>();
    System.getenv()
        .forEach(
            (k, v) -> {
              if (EnvReader.settable(k)) {
                vars.put(k, v);
              }
            });
    return vars;
  }
}
