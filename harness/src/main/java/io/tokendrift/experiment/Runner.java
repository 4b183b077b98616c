package io.tokendrift.experiment;

import io.tokendrift.decode.DecodeSettings;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.decode.StopConditions;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import io.tokendrift.trace.TraceWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Executes a {@link Plan}: batch by batch, each completed run appended to the trace and forced to
 * disk before the next batch starts. Resumable: runs already in the trace are not run again.
 */
public final class Runner {
  /**
   * How to run.
   *
   * @param trace the trace file
   * @param resume continue an existing trace
   * @param force replace an existing trace
   * @param failFast stop at the first failed run
   * @param shardIndex this shard, from 0
   * @param shardCount how many shards (1 for all)
   */
  public record Options(
      Path trace,
      boolean resume,
      boolean force,
      boolean failFast,
      int shardIndex,
      int shardCount) {}

  /** Progress events, for a bar or a log. */
  public interface Progress {
    /** Called once before the first batch: how many runs will be executed now. */
    void start(long runsRemaining, long alreadyDone);

    /** Called after each batch with the runs it wrote. */
    void advance(int runs);

    Progress NONE =
        new Progress() {
          @Override
          public void start(long runsRemaining, long alreadyDone) {}

          @Override
          public void advance(int runs) {}
        };
  }

  /**
   * What happened.
   *
   * @param ok runs recorded as ok now
   * @param failed runs recorded as failed now
   * @param skipped runs recorded as skipped now
   * @param alreadyDone runs found in the trace on resume
   * @param truncated a cut-off record found (and removed) on resume, or null
   * @param steps generated tokens recorded now
   * @param seconds wall-clock time of the batches
   * @param forwardBatches forward-pass groups executed
   */
  public record Outcome(
      int ok,
      int failed,
      int skipped,
      int alreadyDone,
      TraceReader.Truncation truncated,
      long steps,
      double seconds,
      int forwardBatches) {}

  private Runner() {}

  /** Resolves the spec's model: the bundled one, or a folder relative to the spec. */
  public static ModelDir model(ExperimentSpec spec) {
    if (ExperimentSpec.BUNDLED.equals(spec.model())) {
      return BundledModel.open();
    }
    Path p = Path.of(spec.model());
    if (!p.isAbsolute()) {
      p = spec.source().toAbsolutePath().getParent().resolve(p);
    }
    return ModelDir.open(p);
  }

  /**
   * How the manifest names the spec's model: the bundled model's name, or the folder's absolute
   * path (resolved against the spec, as the runner read it), so that analyze finds its tokenizer
   * and writes the same bytes from any working directory.
   */
  static String modelName(ExperimentSpec spec) {
    if (spec.remote()) {
      // Behind an API: the model as asked for (a local serve names its model folder too).
      String m = spec.engine().options().getOrDefault("model", "");
      return "provider:"
          + (m.isEmpty() ? LocalServers.MODEL_ID : m)
          + ("local".equals(spec.engine().options().get("base_url"))
              ? " (local serve of " + spec.model() + ")"
              : "");
    }
    if (ExperimentSpec.BUNDLED.equals(spec.model())) {
      return BundledModel.NAME;
    }
    Path p = Path.of(spec.model());
    if (!p.isAbsolute()) {
      p = spec.source().toAbsolutePath().getParent().resolve(p);
    }
    return p.normalize().toString();
  }

  /** The canonical form of everything that defines the runs, hashed into the trace header. */
  public static String specHash(ExperimentSpec s) {
    StringBuilder b = new StringBuilder();
    b.append("name=").append(s.name()).append('\n');
    b.append("model=").append(s.model()).append('\n');
    if (!s.engine().isDefault()) {
      // Only a named engine enters the hash: specs written before engines existed keep theirs.
      b.append("engine=").append(s.engine()).append('\n');
    }
    for (ExperimentSpec.Prompt p : s.prompts()) {
      b.append("prompt=").append(p.id()).append('\t').append(p.text()).append('\n');
    }
    b.append("decoding=").append(Plan.decodingKey(s.decoding())).append(s.decoding().seeds());
    b.append('\n').append("axes=").append(s.axes()).append('\n');
    if (s.remote()) {
      ProviderAxes p = s.provider();
      b.append("provider=api")
          .append(p.apis())
          .append(",batch_invariant")
          .append(p.serverInvariant())
          .append(",concurrency")
          .append(p.concurrency())
          .append(",logprobs")
          .append(p.logprobs())
          .append(",seed_sent")
          .append(p.seedSent())
          .append(",interval=")
          .append(p.intervalSeconds())
          .append('\n');
    }
    b.append("reference=").append(s.referenceKey()).append('\n');
    b.append("record=").append(s.record()).append('\n');
    return Plan.sha256(b.toString());
  }

  /** The decoding settings as a trace header records them. */
  public static Map<String, String> decodingMap(ExperimentSpec.Decoding d) {
    Map<String, String> m = new TreeMap<>();
    m.put("temperature", Double.toString(d.temperature()));
    m.put("top_k", Integer.toString(d.topK()));
    m.put("top_p", Double.toString(d.topP()));
    m.put("method", d.method().name().toLowerCase(Locale.ROOT));
    m.put("max_tokens", Integer.toString(d.maxTokens()));
    m.put("stop", d.stop().toString());
    m.put("seeds", d.seeds().toString());
    m.put("timeout_seconds", Double.toString(d.timeoutSeconds()));
    return m;
  }

  /**
   * Runs a whole spec: through its {@link ProviderPlan} for an HTTP provider, else its {@link
   * Plan}.
   */
  public static Outcome run(
      ExperimentSpec spec, Options o, Progress progress, Consumer<String> log) {
    return spec.remote()
        ? ProviderRunner.run(new ProviderPlan(spec), o, progress, log)
        : run(new Plan(spec), o, progress, log);
  }

  /**
   * Runs this shard of the plan into the trace, in four stages: check the devices, open (or resume)
   * the trace, then for each batch execute it on an engine and record its runs.
   *
   * @param log one line per notable event (skips, failures, resume)
   */
  public static Outcome run(Plan plan, Options o, Progress progress, Consumer<String> log) {
    ExperimentSpec spec = plan.spec();
    EngineProvider provider = Engines.check(spec.engine());
    ModelDir dir = model(spec);
    EngineSet engines = EngineSet.of(spec, dir);
    Map<String, EngineLoader> loaders = engines.loaders();
    // The tokenizer loads before the trace exists: a broken one leaves no header-only trace behind.
    TextTokenizer tok = dir.tokenizer();
    TraceSession session;
    try {
      checkPrompts(spec, tok, dir.config().contextLength());
      session = TraceSession.open(spec, o, dir.hash(), () -> probeSettings(loaders), provider, log);
    } catch (RuntimeException e) {
      tok.close();
      throw e;
    }
    List<Plan.Batch> mine = plan.shard(o.shardIndex(), o.shardCount());
    Tally tally = new Tally(countDone(mine, session.done()));
    progress.start(countRemaining(mine, session.done()), tally.already);
    long t0 = System.nanoTime();
    try (TraceWriter writer = session.writer();
        tok) {
      if (!spec.axes().env().isEmpty()) {
        // Variables the math library reads at load cannot change in this process: each
        // environment's batches run in a child process started with them.
        ForkedRuns.run(plan, mine, o, session.done(), writer, tally, progress, log);
      } else {
        execute(
            plan,
            mine,
            engines,
            session.done(),
            tok,
            dir,
            writer::write,
            tally,
            progress,
            log,
            o.failFast());
      }
    }
    return tally.outcome(session.truncated(), (System.nanoTime() - t0) / 1e9);
  }

  /**
   * Runs {@code batches} (those runs not in {@code done}) on their engines: each engine's batches
   * in turn (the plan keeps them together), on its own loader; in this process, or in a child
   * process of {@link ForkedRuns}.
   *
   * @return false when it stopped early (--fail-fast)
   */
  static boolean execute(
      Plan plan,
      List<Plan.Batch> batches,
      EngineSet engines,
      Set<String> done,
      TextTokenizer tok,
      ModelDir dir,
      Consumer<RunRecord> out,
      Tally tally,
      Progress progress,
      Consumer<String> log,
      boolean failFast) {
    for (Map.Entry<String, EngineLoader> e : engines.loaders().entrySet()) {
      List<Plan.Batch> its = new java.util.ArrayList<>();
      for (Plan.Batch b : batches) {
        if (java.util.Objects.equals(b.engine(), e.getKey())) {
          its.add(b);
        }
      }
      boolean goOn =
          execute(
              plan,
              its,
              engines.unavailable().get(e.getKey()),
              done,
              tok,
              dir,
              e.getValue(),
              out,
              tally,
              progress,
              log,
              failFast);
      if (!goOn) {
        return false;
      }
    }
    return true;
  }

  /**
   * Runs {@code batches} (those runs not in {@code done}) on one engine and hands every record to
   * {@code out}: in this process, or in a child process of {@link ForkedRuns}.
   *
   * @return false when it stopped early (--fail-fast)
   */
  static boolean execute(
      Plan plan,
      List<Plan.Batch> batches,
      Set<String> unavailable,
      Set<String> done,
      TextTokenizer tok,
      ModelDir dir,
      EngineLoader loader,
      Consumer<RunRecord> out,
      Tally tally,
      Progress progress,
      Consumer<String> log,
      boolean failFast) {
    ExperimentSpec spec = plan.spec();
    try (OpenEngine engine = new OpenEngine(loader)) {
      Map<String, int[]> encoded = new HashMap<>();
      Set<Integer> eos = dir.config().eosIds();
      for (Plan.Batch b : batches) {
        int pending = countRemaining(List.of(b), done);
        if (pending == 0) {
          continue;
        }
        if (unavailable.contains(b.options().device().toString())) {
          tally.skipped +=
              recordSkipped(
                  b,
                  done,
                  out,
                  "device "
                      + b.options().device()
                      + " is not available on this machine (the spec marks devices optional)");
          progress.advance(pending);
          continue;
        }
        String refused = EngineFit.refusal(spec, b);
        if (refused != null) {
          tally.skipped +=
              recordSkipped(b, done, out, refused + " (axes.engine." + b.engine() + ")");
          progress.advance(pending);
          continue;
        }
        BatchExecution x =
            BatchExecution.run(spec, b, x1 -> engine.with(x1.options()), tok, eos, encoded, done);
        tally.batches++;
        record(b, x, done, out, tally);
        progress.advance(pending);
        if (!x.ok()) {
          log.accept(
              "batch "
                  + b.index()
                  + " ("
                  + pending
                  + " runs at "
                  + b.options().device()
                  + ") failed: "
                  + x.error());
          if (failFast) {
            log.accept("--fail-fast: stopping after the first failure");
            return false;
          }
        }
      }
    }
    return true;
  }

  /**
   * Everything about the prompts that can be checked before the first forward pass is checked then:
   * a prompt that encodes to nothing, or leaves no room in the context for one generated token,
   * would otherwise fail every batch it shares with other prompts.
   */
  static void checkPrompts(ExperimentSpec spec, TextTokenizer tok, int context) {
    for (ExperimentSpec.Prompt p : spec.prompts()) {
      int n = tok.encode(p.text()).length;
      if (n == 0) {
        throw new IllegalArgumentException(p.where() + ": encodes to no tokens");
      }
      if (n >= context) {
        throw new IllegalArgumentException(
            String.format(
                Locale.ROOT,
                "%s: encodes to %,d tokens; the model's context holds %,d, so a prompt may have at"
                    + " most %,d (one token must be left to generate)",
                p.where(),
                n,
                context,
                context - 1));
      }
    }
  }

  /**
   * The settings of the spec's engine at the default options, for a new trace's manifest; with an
   * engine axis, the first engine's, and every engine's under {@code engines.NAME.}.
   */
  private static Map<String, String> probeSettings(Map<String, EngineLoader> loaders) {
    var first = loaders.entrySet().iterator().next();
    Map<String, String> m = new TreeMap<>(probeSettings(first.getValue()));
    if (first.getKey() != null) {
      for (Map.Entry<String, EngineLoader> e : loaders.entrySet()) {
        Map<String, String> s = e.getKey().equals(first.getKey()) ? m : probeSettings(e.getValue());
        new TreeMap<>(s)
            .forEach(
                (k, v) -> {
                  if (!k.startsWith("engines.")) {
                    m.put("engines." + e.getKey() + "." + k, v);
                  }
                });
      }
    }
    return m;
  }

  /** The engine's settings at the default options, for a new trace's manifest. */
  private static Map<String, String> probeSettings(EngineLoader loader) {
    try (Engine probe = loader.open(EngineOptions.DEFAULTS)) {
      return probe.settings();
    }
  }

  static int countDone(List<Plan.Batch> batches, Set<String> done) {
    int n = 0;
    for (Plan.Batch b : batches) {
      for (Plan.Run r : b.runs().values()) {
        n += done.contains(r.id()) ? 1 : 0;
      }
    }
    return n;
  }

  static int countRemaining(List<Plan.Batch> batches, Set<String> done) {
    int n = 0;
    for (Plan.Batch b : batches) {
      n += b.runs().size();
    }
    return n - countDone(batches, done);
  }

  /**
   * Writes a skipped record, with {@code reason}, for each run of {@code b} not yet in the trace;
   * returns how many.
   */
  private static int recordSkipped(
      Plan.Batch b, Set<String> done, Consumer<RunRecord> writer, String reason) {
    int n = 0;
    for (Map.Entry<Integer, Plan.Run> e : b.runs().entrySet()) {
      if (!done.contains(e.getValue().id())) {
        writer.accept(
            Records.unfinished(e.getValue(), b, e.getKey(), 0, RunRecord.Status.SKIPPED, reason));
        n++;
      }
    }
    return n;
  }

  /** Writes the records of an executed batch: its runs ok, or all failed with the error. */
  private static void record(
      Plan.Batch b, BatchExecution x, Set<String> done, Consumer<RunRecord> writer, Tally tally) {
    if (!x.ok()) {
      for (Map.Entry<Integer, Plan.Run> e : b.runs().entrySet()) {
        if (!done.contains(e.getValue().id())) {
          writer.accept(
              Records.unfinished(
                  e.getValue(), b, e.getKey(), x.millis(), RunRecord.Status.FAILED, x.error()));
          tally.failed++;
        }
      }
      return;
    }
    for (int row : x.recorders().keySet()) {
      RunRecord rec = Records.ok(b, row, x);
      writer.accept(rec);
      tally.ok++;
      tally.steps += rec.tokens().length;
    }
  }

  /** Running counts of one {@link #run}. */
  static final class Tally {
    final int already;
    int ok;
    int failed;
    int skipped;
    long steps;
    int batches;

    Tally(int already) {
      this.already = already;
    }

    Outcome outcome(TraceReader.Truncation truncated, double seconds) {
      return new Outcome(ok, failed, skipped, already, truncated, steps, seconds, batches);
    }
  }

  static DecodeSettings settings(ExperimentSpec spec, long seed, Set<Integer> eos) {
    ExperimentSpec.Decoding d = spec.decoding();
    SamplingSettings s =
        d.temperature() == 0
            ? SamplingSettings.GREEDY
            : SamplingSettings.of(d.temperature(), d.topK(), d.topP()).withMethod(d.method());
    return new DecodeSettings(
        s,
        new StopConditions(
            d.maxTokens(), eos, d.stop(), Duration.ofNanos((long) (d.timeoutSeconds() * 1e9))),
        seed);
  }
}
