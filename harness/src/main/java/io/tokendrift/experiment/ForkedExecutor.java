package io.tokendrift.experiment;

import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.ProcessInfo;
import io.tokendrift.trace.RunLines;
import io.tokendrift.trace.RunRecord;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The {@code env} axis: settings the math library reads once, when the process loads it ({@code
 * MKL_CBWR}, {@code MKL_ENABLE_INSTRUCTIONS}, {@code OMP_*}, ...), cannot be switched inside one
 * JVM. As JMH forks a JVM per benchmark, each environment's forward-pass groups run in a child JVM
 * started with its variables ({@link ForkedMain}); the run loop hands this executor one group at a
 * time, which it sends to the child of that group's environment and whose records it passes back as
 * they arrive (so a crash of the child loses no recorded run, {@code --resume} works as for any
 * trace, and {@code --fail-fast} stops after the first failed group). Every record says which child
 * ran it ({@link ProcessInfo}). A child that dies, or refuses its job, has the runs it did not
 * answer recorded as failed with its reason, and so has every later group of its environment.
 */
final class ForkedExecutor implements RunLoop.Executor<Plan.Pass> {
  private static final int STDERR_TAIL = 20;

  private final ExperimentSpec spec;
  private final Consumer<String> log;

  /** Environments whose child died or refused its job → why, for their later groups. */
  private final Map<String, String> dead = new HashMap<>();

  private Child child;

  ForkedExecutor(ExperimentSpec spec, Consumer<String> log) {
    this.spec = spec;
    this.log = log;
  }

  @Override
  public boolean execute(Plan.Pass b, Set<String> done, Consumer<RunRecord> out) {
    // The runs this group owes, in plan order: what the child does not answer is recorded failed.
    Map<String, Integer> owed = new LinkedHashMap<>();
    for (Map.Entry<Integer, Plan.Run> e : b.runs().entrySet()) {
      if (!done.contains(e.getValue().id())) {
        owed.put(e.getValue().id(), e.getKey());
      }
    }
    String why = dead.get(b.env());
    if (why == null) {
      why = send(b, done, owed, out);
    }
    if (why != null) {
      for (Map.Entry<String, Integer> e : owed.entrySet()) {
        out.accept(
            Records.unfinished(
                b.runs().get(e.getValue()), b, e.getValue(), 0, RunRecord.Status.FAILED, why));
      }
    }
    return true;
  }

  /**
   * Sends the group to its environment's child and passes its records on; returns why the
   * unanswered runs failed, or null when all were answered.
   */
  private String send(
      Plan.Pass b, Set<String> done, Map<String, Integer> owed, Consumer<RunRecord> out) {
    ExperimentSpec.ProcessEnv env = spec.axes().env(b.env());
    try {
      if (child == null || !child.env.name().equals(env.name())) {
        close();
        child = new Child(env);
      }
      child.send(new ForkLink.Command(b.index(), b.runIds(), done).json());
      String line;
      while ((line = child.out.readLine()) != null) {
        if (line.startsWith(ForkLink.RECORD)) {
          RunRecord r = RunLines.decode(line.substring(ForkLink.RECORD.length()), "child record");
          if (owed.remove(r.id()) == null) {
            throw new IllegalStateException(
                "the child for env " + env.name() + " answered run " + r.id() + ", not owed");
          }
          out.accept(r);
          child.steps += r.tokens().length;
        } else if (line.startsWith(ForkLink.END)) {
          return owed.isEmpty()
              ? null
              : "the child for env " + env.name() + " ended batch " + b.index() + " unanswered";
        } else if (line.startsWith(ForkLink.FAILURE)) {
          ForkLink.Failure f = ForkLink.Failure.parse(line.substring(ForkLink.FAILURE.length()));
          return died(
              env, "the child process for env " + env.name() + " could not run: " + f.described());
        } else {
          log.accept("[env " + env.name() + "] " + line);
        }
      }
      return died(env, exited(env));
    } catch (IOException e) {
      // A child that died between two passes breaks the pipe: its exit code says more.
      return died(
          env,
          child != null && child.exitsWithin(5)
              ? exited(env)
              : "could not run a child process for env " + env.name() + ": " + e.getMessage());
    }
  }

  /** Why the child's unanswered runs failed when it exited: its exit code and last words. */
  private String exited(ExperimentSpec.ProcessEnv env) {
    int code = child.exitCode();
    return "the child process for env "
        + env.name()
        + " (pid "
        + child.process.pid()
        + ") exited with code "
        + code
        + " before answering this run"
        + child.stderrTail();
  }

  private String died(ExperimentSpec.ProcessEnv env, String why) {
    dead.put(env.name(), why);
    close();
    return why;
  }

  @Override
  public void close() {
    if (child != null) {
      Child c = child;
      child = null;
      c.close();
    }
  }

  /** One child process, for one environment. */
  private final class Child {
    final ExperimentSpec.ProcessEnv env;
    final Process process;
    final BufferedReader out;
    final BufferedWriter in;
    final Path job;
    final Thread hook;
    final Thread errPump;
    final Deque<String> tail = new ArrayDeque<>();
    final long t0 = System.nanoTime();
    long steps;

    Child(ExperimentSpec.ProcessEnv env) throws IOException {
      this.env = env;
      job = Files.createTempFile("tokendrift-job-", ".json");
      Files.writeString(job, ForkLink.Job.of(spec, env.name()).json());
      ProcessBuilder pb = new ProcessBuilder(command(job));
      pb.environment().putAll(env.vars());
      process = pb.start();
      hook = new Thread(process::destroyForcibly, "tokendrift-child-reaper");
      Runtime.getRuntime().addShutdownHook(hook);
      out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      in =
          new BufferedWriter(
              new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
      errPump = new Thread(this::pumpStderr, "tokendrift-child-stderr-" + env.name());
      errPump.setDaemon(true);
      errPump.start();
    }

    void send(String line) throws IOException {
      in.write(line);
      in.write('\n');
      in.flush();
    }

    boolean exitsWithin(int seconds) {
      try {
        return process.waitFor(seconds, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    int exitCode() {
      try {
        return process.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return -1;
      }
    }

    private void pumpStderr() {
      try (BufferedReader err =
          new BufferedReader(
              new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = err.readLine()) != null) {
          synchronized (tail) {
            tail.addLast(line);
            while (tail.size() > STDERR_TAIL) {
              tail.removeFirst();
            }
          }
          log.accept("[env " + env.name() + "] " + line);
        }
      } catch (IOException ignored) {
        // the child is gone
      }
    }

    String stderrTail() {
      try {
        errPump.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (tail) {
        return tail.isEmpty() ? "" : "; its stderr ended: " + String.join(" | ", tail);
      }
    }

    /** Ends the child: its input closed, a few seconds to exit, then killed. */
    void close() {
      try {
        in.close();
      } catch (IOException ignored) {
        // it is gone already
      }
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
        errPump.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException ignored) {
        // shutting down already
      }
      try {
        Files.deleteIfExists(job);
      } catch (IOException ignored) {
        // a temporary file
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      log.accept(
          String.format(
              Locale.ROOT,
              "env %s: %,d tokens in %.1f s (%.1f tokens/s, child start included) in child process"
                  + " %d with %s",
              env.name(),
              steps,
              seconds,
              seconds > 0 ? steps / seconds : 0.0,
              process.pid(),
              env.vars()));
    }
  }

  /** The child's command line: this JVM's java, its class path and its -D/-X settings. */
  static List<String> command(Path job) {
    List<String> cmd = new ArrayList<>();
    cmd.add(
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    boolean offline = false;
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-D")
          || a.startsWith("-Xmx")
          || a.startsWith("-Xms")
          || a.startsWith("-Xss")) {
        cmd.add(a);
        offline |= a.startsWith("-Dai.djl.offline=");
      }
    }
    if (!offline) {
      cmd.add("-Dai.djl.offline=" + System.getProperty("ai.djl.offline", "true"));
    }
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("tokendrift.fault.")) {
        cmd.add("-D" + name + "=" + System.getProperty(name));
      }
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.addAll(ForkedMain.ENTRY);
    cmd.add(job.toString());
    return cmd;
  }
}
