package io.tokendrift.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.trace.ProcessInfo;
import io.tokendrift.trace.RunLines;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceWriter;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The {@code env} axis: settings the math library reads once, when the process loads it ({@code
 * MKL_CBWR}, {@code MKL_ENABLE_INSTRUCTIONS}, {@code OMP_*}, ...), cannot be switched inside one
 * JVM. As JMH forks a JVM per benchmark, the runner forks one child JVM per environment, started
 * with that environment's variables: the child runs the environment's batches and streams each
 * record back on its standard output; this process writes them to the trace (so a crash of the
 * child loses no recorded run, and {@code --resume} works as for any trace). Every record says
 * which child ran it ({@link ProcessInfo}).
 *
 * <p>Protocol (one child, one job): the parent writes a job file (the spec, its engine options, the
 * environment's name, the batch indices and the run ids already recorded) and starts {@code java
 * -cp <this class path> io.tokendrift.experiment.ForkedRuns <job file>}. The child answers with
 * lines {@code TDRUN <run record JSON>} on standard output; anything else it prints (on stderr) is
 * passed to the log. A child that exits non-zero or leaves runs unanswered has those runs recorded
 * as failed, with the tail of its stderr.
 */
public final class ForkedRuns {
  static final String RECORD_PREFIX = "TDRUN ";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int STDERR_TAIL = 20;

  /**
   * Fault injection for the tests of crash handling: a child whose JVM has this property set to n
   * halts (exit 134, as an abort) right after sending its n-th record. The parent passes every
   * {@code tokendrift.fault.*} property it has on to its children.
   */
  static final String FAULT_EXIT_AFTER = "tokendrift.fault.child_exit_after";

  private ForkedRuns() {}

  /** Runs {@code mine} (this shard's batches), environment by environment, each in a child. */
  static void run(
      Plan plan,
      List<Plan.Batch> mine,
      Runner.Options o,
      Set<String> done,
      TraceWriter writer,
      Runner.Tally tally,
      Runner.Progress progress,
      Consumer<String> log) {
    ExperimentSpec spec = plan.spec();
    for (ExperimentSpec.ProcessEnv env : spec.axes().env()) {
      List<Plan.Batch> batches = new ArrayList<>();
      for (Plan.Batch b : mine) {
        if (env.name().equals(b.env()) && Runner.countRemaining(List.of(b), done) > 0) {
          batches.add(b);
        }
      }
      if (batches.isEmpty()) {
        continue;
      }
      boolean ok = runChild(spec, env, batches, done, writer, tally, progress, log);
      if (!ok && o.failFast()) {
        log.accept("--fail-fast: stopping after the first failure");
        return;
      }
    }
  }

  /** One child for one environment; returns false when any of its runs failed. */
  private static boolean runChild(
      ExperimentSpec spec,
      ExperimentSpec.ProcessEnv env,
      List<Plan.Batch> batches,
      Set<String> done,
      TraceWriter writer,
      Runner.Tally tally,
      Runner.Progress progress,
      Consumer<String> log) {
    // The runs this child owes, in plan order: what it does not answer is recorded as failed.
    Map<String, Pending> owed = new LinkedHashMap<>();
    for (Plan.Batch b : batches) {
      for (Map.Entry<Integer, Plan.Run> e : b.runs().entrySet()) {
        if (!done.contains(e.getValue().id())) {
          owed.put(e.getValue().id(), new Pending(b, e.getKey(), e.getValue()));
        }
      }
    }
    Path job;
    try {
      job = Files.createTempFile("tokendrift-job-", ".json");
      Files.writeString(job, jobJson(spec, env, batches, done));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot write a child job file: " + e.getMessage(), e);
    }
    long t0 = System.nanoTime();
    Deque<String> tail = new ArrayDeque<>();
    int failedBefore = tally.failed;
    long stepsBefore = tally.steps;
    String why;
    Process child = null;
    Thread hook = null;
    try {
      ProcessBuilder pb = new ProcessBuilder(command(job));
      pb.environment().putAll(env.vars());
      pb.redirectInput(ProcessBuilder.Redirect.PIPE);
      child = pb.start();
      child.getOutputStream().close();
      final Process c = child;
      hook = new Thread(c::destroyForcibly, "tokendrift-child-reaper");
      Runtime.getRuntime().addShutdownHook(hook);
      Thread errPump =
          new Thread(
              () -> pumpStderr(c, env.name(), tail, log), "tokendrift-child-stderr-" + env.name());
      errPump.setDaemon(true);
      errPump.start();
      log.accept(
          "env "
              + env.name()
              + ": child process "
              + child.pid()
              + " with "
              + env.vars()
              + " runs "
              + owed.size()
              + " runs in "
              + batches.size()
              + " batches");
      Set<Plan.Batch> seenBatches = new HashSet<>();
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = out.readLine()) != null) {
          if (!line.startsWith(RECORD_PREFIX)) {
            log.accept("[env " + env.name() + "] " + line);
            continue;
          }
          RunRecord r = RunLines.decode(line.substring(RECORD_PREFIX.length()), "child record");
          Pending p = owed.remove(r.id());
          if (p == null) {
            throw new IllegalStateException(
                "the child for env " + env.name() + " answered run " + r.id() + ", not owed");
          }
          writer.write(r);
          seenBatches.add(p.batch());
          switch (r.status()) {
            case OK -> {
              tally.ok++;
              tally.steps += r.tokens().length;
            }
            case FAILED -> tally.failed++;
            case SKIPPED -> tally.skipped++;
          }
          progress.advance(1);
        }
      }
      int code = child.waitFor();
      errPump.join(5_000);
      tally.batches += seenBatches.size();
      why =
          owed.isEmpty()
              ? null
              : "the child process for env "
                  + env.name()
                  + " (pid "
                  + child.pid()
                  + ") exited with code "
                  + code
                  + " before answering this run"
                  + stderrTail(tail);
    } catch (IOException e) {
      why = "could not run a child process for env " + env.name() + ": " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      why = "interrupted while the child process for env " + env.name() + " ran";
    } finally {
      if (child != null && child.isAlive()) {
        child.destroyForcibly();
      }
      if (hook != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
          // shutting down already
        }
      }
      try {
        Files.deleteIfExists(job);
      } catch (IOException ignored) {
        // a temporary file
      }
    }
    for (Pending p : owed.values()) {
      writer.write(
          Records.unfinished(p.run(), p.batch(), p.row(), 0, RunRecord.Status.FAILED, why));
      tally.failed++;
      progress.advance(1);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    long steps = tally.steps - stepsBefore;
    log.accept(
        String.format(
            Locale.ROOT,
            "env %s: %,d tokens in %.1f s (%.1f tokens/s, child start included)%s",
            env.name(),
            steps,
            seconds,
            seconds > 0 ? steps / seconds : 0.0,
            owed.isEmpty() ? "" : "; " + owed.size() + " runs unanswered: " + why));
    return tally.failed == failedBefore;
  }

  private record Pending(Plan.Batch batch, int row, Plan.Run run) {}

  private static void pumpStderr(Process c, String env, Deque<String> tail, Consumer<String> log) {
    try (BufferedReader err =
        new BufferedReader(new InputStreamReader(c.getErrorStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = err.readLine()) != null) {
        synchronized (tail) {
          tail.addLast(line);
          while (tail.size() > STDERR_TAIL) {
            tail.removeFirst();
          }
        }
        log.accept("[env " + env + "] " + line);
      }
    } catch (IOException ignored) {
      // the child is gone
    }
  }

  private static String stderrTail(Deque<String> tail) {
    synchronized (tail) {
      return tail.isEmpty() ? "" : "; its stderr ended: " + String.join(" | ", tail);
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
    cmd.add(ForkedRuns.class.getName());
    cmd.add(job.toString());
    return cmd;
  }

  private static String jobJson(
      ExperimentSpec spec,
      ExperimentSpec.ProcessEnv env,
      List<Plan.Batch> batches,
      Set<String> done)
      throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("spec", spec.source().toAbsolutePath().toString());
    ObjectNode opts = n.putObject("engine_options");
    new TreeMap<>(spec.engine().options()).forEach(opts::put);
    // With an engine axis, each engine's options as this process holds them (--engine-option).
    ObjectNode axis = n.putObject("axis_engine_options");
    for (ExperimentSpec.NamedEngine e : spec.axes().engines()) {
      ObjectNode o = axis.putObject(e.name());
      new TreeMap<>(e.spec().options()).forEach(o::put);
    }
    n.put("env", env.name());
    ArrayNode idx = n.putArray("batches");
    ArrayNode d = n.putArray("done");
    for (Plan.Batch b : batches) {
      idx.add(b.index());
      for (Plan.Run r : b.runs().values()) {
        if (done.contains(r.id())) {
          d.add(r.id());
        }
      }
    }
    return JSON.writeValueAsString(n);
  }

  /**
   * The child: runs the job's batches in this process (whose environment the parent set) and prints
   * each record as a {@code TDRUN} line. Exit 0 when every batch was attempted, 3 when the job
   * could not start (its message on stderr).
   */
  public static void main(String[] args) {
    // Standard output carries records only: anything else printing to it goes to stderr.
    PrintStream records =
        new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    try {
      JsonNode job = JSON.readTree(Files.readString(Path.of(args[0])));
      ExperimentSpec spec = ExperimentSpec.read(Path.of(job.get("spec").asText()));
      Map<String, String> opts = new TreeMap<>();
      job.get("engine_options")
          .fields()
          .forEachRemaining(e -> opts.put(e.getKey(), e.getValue().asText()));
      if (spec.axes().engines().isEmpty()) {
        if (!opts.equals(new TreeMap<>(spec.engine().options()))) {
          spec = spec.withEngineOptions(opts);
        }
      } else {
        // Each engine of the axis with the options the parent ran it with.
        for (ExperimentSpec.NamedEngine e : spec.axes().engines()) {
          Map<String, String> o = new TreeMap<>();
          job.path("axis_engine_options")
              .path(e.name())
              .fields()
              .forEachRemaining(x -> o.put(x.getKey(), x.getValue().asText()));
          if (!o.equals(new TreeMap<>(e.spec().options()))) {
            spec =
                spec.withAxisEngine(
                    e.name(), new io.tokendrift.engine.EngineSpec(e.spec().kind(), o));
          }
        }
      }
      String envName = job.get("env").asText();
      ExperimentSpec.ProcessEnv env = spec.axes().env(envName);
      Plan plan = new Plan(spec);
      List<Plan.Batch> batches = new ArrayList<>();
      for (JsonNode i : job.get("batches")) {
        batches.add(plan.batches().get(i.asInt()));
      }
      Set<String> done = new HashSet<>();
      job.get("done").forEach(d -> done.add(d.asText()));
      SortedMap<String, String> vars = new TreeMap<>();
      System.getenv()
          .forEach(
              (k, v) -> {
                // The environment's own variables pass the same rule, so they are among these.
                if (EnvReader.settable(k)) {
                  vars.put(k, v);
                }
              });
      ProcessInfo me = new ProcessInfo(env.name(), ProcessHandle.current().pid(), vars);
      int exitAfter = Integer.getInteger(FAULT_EXIT_AFTER, -1);
      int[] sent = {0};
      ModelDir dir = Runner.model(spec);
      EngineSet engines = EngineSet.of(spec, dir);
      try (TextTokenizer tok = dir.tokenizer()) {
        Runner.execute(
            plan,
            batches,
            engines,
            done,
            tok,
            dir,
            r -> {
              records.println(RECORD_PREFIX + RunLines.encode(r.withProcess(me)));
              records.flush();
              if (records.checkError()) {
                throw new IllegalStateException("the parent stopped reading: giving up");
              }
              if (++sent[0] == exitAfter) {
                System.err.println("tokendrift child: fault injection: halting after " + exitAfter);
                System.err.flush();
                Runtime.getRuntime().halt(134);
              }
            },
            new Runner.Tally(0),
            Runner.Progress.NONE,
            System.err::println,
            false);
      }
    } catch (Exception | LinkageError e) {
      System.err.println("tokendrift child: " + e);
      System.exit(3);
    }
    System.exit(0);
  }
}
