package io.tokendrift.cli;

import io.tokendrift.experiment.Plan;
import io.tokendrift.experiment.Planned;
import io.tokendrift.experiment.ProviderPlan;
import io.tokendrift.experiment.Runner;
import io.tokendrift.report.Reports;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.Point;
import io.tokendrift.spec.SpecAxes;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Runs an experiment spec: every prompt under every point of the grid, recorded to a trace. */
@Command(
    name = "run",
    header = "Run an experiment: every prompt under every combination of conditions.",
    footer = {"", "Example:", "  tokendrift run experiments/quickstart.yaml"},
    mixinStandardHelpOptions = true,
    description =
        "Run an experiment: every prompt under every combination of conditions, every step recorded to a trace (reports/NAME/trace.jsonl by default). Exit codes: 0 all runs ok, 2 bad spec or flags, 3 environment (e.g. a GPU the spec needs is missing), 4 some runs failed.")
final class RunCommand implements Callable<Integer> {
  /** Some runs were recorded as failed. */
  static final int RUNS_FAILED = 4;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "SPEC", description = "Experiment spec (YAML or JSON).")
  Path specFile;

  @Option(names = "--dry-run", description = "Print the grid and its size; run nothing.")
  boolean dryRun;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Report folder (default: reports/NAME). The trace is DIR/trace.jsonl.")
  Path out;

  @Option(names = "--trace", paramLabel = "FILE", description = "Trace file (overrides --out).")
  Path trace;

  @Option(names = "--resume", description = "Continue an existing trace: run only what is missing.")
  boolean resume;

  @Option(names = "--force", description = "Replace an existing trace.")
  boolean force;

  @Option(names = "--fail-fast", description = "Stop at the first failed run.")
  boolean failFast;

  @Option(
      names = "--engine-option",
      paramLabel = "KEY=VALUE",
      description =
          "Replace an option of the spec's engine (repeatable), e.g. base_url=http://gpu-box:8000/v1"
              + " for a provider spec.")
  java.util.List<String> engineOptions = java.util.List.of();

  @Option(
      names = "--yes",
      description =
          "Confirm a provider run above the cost guard (more than "
              + COST_GUARD_REQUESTS
              + " requests or "
              + COST_GUARD_TOKENS
              + " generated tokens at most).")
  boolean yes;

  /** A provider run sending more requests than this needs --yes. */
  static final long COST_GUARD_REQUESTS = 1_000;

  /** A provider run that may generate more tokens than this needs --yes. */
  static final long COST_GUARD_TOKENS = 100_000;

  @Option(
      names = "--no-analyze",
      description = "Only record; do not write analysis.json next to the trace.")
  boolean noAnalyze;

  @Option(
      names = "--shard",
      paramLabel = "I/N",
      description =
          "Run shard I (from 0) of N: a deterministic 1/N of the grid's forward passes. auto/N"
              + " takes I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or"
              + " SLURM_ARRAY_TASK_ID (a Slurm array, less SLURM_ARRAY_TASK_MIN).")
  String shard;

  @Override
  public Integer call() {
    if (resume && force) {
      throw new UserInputException("--resume and --force contradict each other; pick one");
    }
    int[] sh = parseShard(shard, System::getenv);
    ExperimentSpec s = ExperimentSpec.read(specFile);
    if (!engineOptions.isEmpty()) {
      java.util.Map<String, String> m = new java.util.TreeMap<>();
      for (String kv : engineOptions) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new UserInputException("--engine-option '" + kv + "' is not KEY=VALUE");
        }
        m.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
      try {
        s = s.withEngineOptions(m);
      } catch (IllegalArgumentException e) {
        throw new UserInputException("--engine-option: " + e.getMessage());
      }
    }
    PrintWriter o = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Planned plan = Planned.of(s);
    if (dryRun) {
      if (plan instanceof ProviderPlan remote) {
        ProviderCommands.printGrid(o, s, remote, sh);
      } else {
        printGrid(o, s, (Plan) plan, sh);
      }
      return Main.OK;
    }
    if (plan instanceof ProviderPlan remote) {
      ProviderCommands.guard(s, remote, sh, yes, COST_GUARD_REQUESTS, COST_GUARD_TOKENS);
    }
    Path traceFile = traceFile(s);
    long mine = plan.runsIn(sh[0], sh[1]);
    Runner.Outcome r;
    Runner.Options ro = Runner.Options.of(traceFile).shard(sh[0], sh[1]);
    ro = resume ? ro.resuming() : ro;
    ro = force ? ro.forcing() : ro;
    ro = failFast ? ro.failingFast() : ro;
    java.util.function.Consumer<String> log =
        line -> {
          err.println(line);
          err.flush();
        };
    try (RunProgress progress =
        new RunProgress(s.name(), traceFile, err, System.console() != null)) {
      r = Runner.run(plan, ro, progress, log);
    }
    long bytes;
    try {
      bytes = Files.size(traceFile);
    } catch (java.io.IOException e) {
      bytes = -1;
    }
    o.printf(
        Locale.ROOT,
        "%s: %d runs ok, %d failed, %d skipped%s (shard %s of %d runs in the grid); %,d steps in"
            + " %.1f s (%.2f runs/s, %d %s)%n",
        s.name(),
        r.ok(),
        r.failed(),
        r.skipped(),
        r.alreadyDone() > 0 ? ", " + r.alreadyDone() + " already recorded" : "",
        sh[1] == 1 ? "all" : sh[0] + "/" + sh[1] + ": " + mine,
        s.gridSize(),
        r.steps(),
        r.seconds(),
        r.seconds() > 0 ? (r.ok() + r.failed()) / r.seconds() : 0.0,
        r.forwardBatches(),
        plan.unitNoun());
    o.printf(Locale.ROOT, "trace: %s (%,d bytes)%n", traceFile.toAbsolutePath(), bytes);
    if (!noAnalyze && sh[1] == 1) {
      var a =
          AnalyzeCommand.analyze(
              java.util.List.of(traceFile), AnalyzeCommand.options(traceFile, 0.99, Math.log(2)));
      try {
        o.println(io.tokendrift.report.Sentences.summary(a));
        for (Path p :
            io.tokendrift.report.Reports.write(
                traceFile.toAbsolutePath().getParent(), a, Reports.FORMATS)) {
          o.printf(Locale.ROOT, "wrote %s%n", p);
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return r.failed() > 0 ? RUNS_FAILED : Main.OK;
  }

  private Path traceFile(ExperimentSpec s) {
    if (trace != null) {
      return trace;
    }
    Path dir = out != null ? out : Path.of("reports", s.name());
    return dir.resolve("trace.jsonl");
  }

  static int[] parseShard(String shard, java.util.function.UnaryOperator<String> env) {
    if (shard == null) {
      return new int[] {0, 1};
    }
    String[] p = shard.split("/");
    try {
      if (p.length == 2) {
        int n = Integer.parseInt(p[1].trim());
        if (n >= 1 && p[0].trim().equals("auto")) {
          return new int[] {autoIndex(env, n), n};
        }
        int i = Integer.parseInt(p[0].trim());
        if (n >= 1 && i >= 0 && i < n) {
          return new int[] {i, n};
        }
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new UserInputException(
        "--shard '"
            + shard
            + "' is not allowed; use I/N with 0 <= I < N (e.g. 0/4 ... 3/4), or auto/N");
  }

  /** Variables a cluster scheduler gives each task its index in. */
  static final String K8S_INDEX = "JOB_COMPLETION_INDEX";

  static final String SLURM_INDEX = "SLURM_ARRAY_TASK_ID";

  /**
   * The shard index of {@code --shard auto/N}: a Kubernetes Indexed Job's {@code
   * JOB_COMPLETION_INDEX} (0 … completions−1), or a Slurm array task's {@code SLURM_ARRAY_TASK_ID}
   * less {@code SLURM_ARRAY_TASK_MIN} (arrays may start at 1); refused when neither is set, when
   * they disagree, or when the index or the array's size does not fit N.
   */
  static int autoIndex(java.util.function.UnaryOperator<String> env, int n) {
    Integer k8s = integer(env, K8S_INDEX);
    Integer slurm = integer(env, SLURM_INDEX);
    if (slurm != null) {
      Integer min = integer(env, "SLURM_ARRAY_TASK_MIN");
      slurm -= min == null ? 0 : min;
      Integer count = integer(env, "SLURM_ARRAY_TASK_COUNT");
      if (count != null && count != n) {
        throw new UserInputException(
            "--shard auto/"
                + n
                + ": the Slurm array has "
                + count
                + " tasks (SLURM_ARRAY_TASK_COUNT); give --shard auto/"
                + count
                + " or an array of "
                + n
                + " tasks");
      }
    }
    if (k8s == null && slurm == null) {
      throw new UserInputException(
          "--shard auto/"
              + n
              + " takes the index from "
              + K8S_INDEX
              + " (a Kubernetes Indexed Job) or "
              + SLURM_INDEX
              + " (a Slurm array); neither is set here: give --shard I/"
              + n);
    }
    if (k8s != null && slurm != null && !k8s.equals(slurm)) {
      throw new UserInputException(
          "--shard auto: "
              + K8S_INDEX
              + " says "
              + k8s
              + " and "
              + SLURM_INDEX
              + " (less SLURM_ARRAY_TASK_MIN) says "
              + slurm
              + "; give --shard I/"
              + n);
    }
    int i = k8s != null ? k8s : slurm;
    if (i < 0 || i >= n) {
      throw new UserInputException(
          "--shard auto/"
              + n
              + ": the task's index "
              + i
              + " (from "
              + (k8s != null ? K8S_INDEX : SLURM_INDEX)
              + ") is outside 0.."
              + (n - 1));
    }
    return i;
  }

  private static Integer integer(java.util.function.UnaryOperator<String> env, String name) {
    String v = env.apply(name);
    if (v == null || v.isBlank()) {
      return null;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new UserInputException(name + "='" + v + "' is not an integer");
    }
  }

  private static void printGrid(PrintWriter o, ExperimentSpec s, Plan plan, int[] sh) {
    o.printf(Locale.ROOT, "experiment %s (%s)%n", s.name(), s.source());
    o.printf(Locale.ROOT, "model: %s%n", s.model());
    o.printf(
        Locale.ROOT,
        "prompts: %d, seeds: %s, repeats: %d, decoding: %s%n",
        s.prompts().size(),
        s.decoding().seeds(),
        s.axes().repeats(),
        decoding(s.decoding()));
    o.println("axes:");
    SpecAxes a = s.axes();
    o.printf(
        Locale.ROOT,
        "  device          %s%s%n",
        a.devices(),
        a.devicesOptional() ? " (optional)" : "");
    o.printf(Locale.ROOT, "  batch sizes     %s%n", a.batchSizes());
    o.printf(Locale.ROOT, "  batch positions %s%n", a.batchPositions());
    o.printf(Locale.ROOT, "  summation       %s%n", a.summations());
    o.printf(
        Locale.ROOT,
        "  precision       %s%n",
        a.precisions().stream().map(p -> p.label()).toList());
    o.printf(Locale.ROOT, "  threads         %s%n", a.threads());
    o.printf(Locale.ROOT, "  batch_invariant %s%n", a.batchInvariant());
    if (!a.kvCache().isEmpty()) {
      o.printf(
          Locale.ROOT,
          "  kv_cache        %s%n",
          a.kvCache().stream().map(k -> k ? "on" : "off").toList());
    }
    if (!a.env().isEmpty()) {
      o.printf(Locale.ROOT, "  env             %s%n", a.env());
    }
    if (!a.engines().isEmpty()) {
      o.printf(Locale.ROOT, "  engine          %s%n", a.engines());
    }
    o.printf(Locale.ROOT, "points: %d%n", s.points().size());
    for (Point p : s.points()) {
      String refused = s.refusal(p);
      o.printf(
          Locale.ROOT,
          "  %s%s%s%n",
          p.key(),
          p.equals(s.reference()) ? "   <- reference" : "",
          refused == null ? "" : "   (skipped: " + refused + ")");
    }
    o.printf(
        Locale.ROOT,
        "grid: %d points x %d prompts x %d seeds x %d repeats = %d runs in %d forward batches%n",
        s.points().size(),
        s.prompts().size(),
        s.decoding().seeds().size(),
        a.repeats(),
        s.gridSize(),
        plan.batches().size());
    if (sh[1] > 1) {
      var mine = plan.shard(sh[0], sh[1]);
      o.printf(
          Locale.ROOT,
          "shard %d/%d: %d runs in %d forward batches%n",
          sh[0],
          sh[1],
          mine.stream().mapToLong(b -> b.runs().size()).sum(),
          mine.size());
    }
  }

  private static String decoding(ExperimentSpec.Decoding d) {
    return d.temperature() == 0
        ? "greedy, max_tokens " + d.maxTokens()
        : String.format(
            Locale.ROOT,
            "temperature %s, top_k %d, top_p %s, %s, max_tokens %d",
            d.temperature(),
            d.topK(),
            d.topP(),
            d.method().name().toLowerCase(Locale.ROOT),
            d.maxTokens());
  }
}
