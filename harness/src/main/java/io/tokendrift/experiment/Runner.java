package io.tokendrift.experiment;

import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
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
      Path trace, boolean resume, boolean force, boolean failFast, int shardIndex, int shardCount) {

    /** The defaults: a new trace (refusing to replace one), every run, going on after failures. */
    public static Options of(Path trace) {
      return new Options(trace, false, false, false, 0, 1);
    }

    /** These options, continuing an existing trace. */
    public Options resuming() {
      return new Options(trace, true, force, failFast, shardIndex, shardCount);
    }

    /** These options, replacing an existing trace. */
    public Options forcing() {
      return new Options(trace, resume, true, failFast, shardIndex, shardCount);
    }

    /** These options, stopping at the first failed run. */
    public Options failingFast() {
      return new Options(trace, resume, force, true, shardIndex, shardCount);
    }

    /** These options, for shard {@code index} (from 0) of {@code count}. */
    public Options shard(int index, int count) {
      return new Options(trace, resume, force, failFast, index, count);
    }
  }

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

  /**
   * Runs this shard of a spec into the trace: its {@link ProviderPlan} against an HTTP provider, or
   * its {@link Plan} in this process or, with an env axis, in forked children — all through the one
   * {@link RunLoop}.
   *
   * @param log one line per notable event (skips, failures, resume)
   */
  public static Outcome run(
      ExperimentSpec spec, Options o, Progress progress, Consumer<String> log) {
    return run(Planned.of(spec), o, progress, log);
  }

  /** Runs this shard of a planned spec into the trace. */
  public static Outcome run(Planned plan, Options o, Progress progress, Consumer<String> log) {
    return plan instanceof ProviderPlan p
        ? run(p, o, progress, log)
        : run((Plan) plan, o, progress, log);
  }

  /** Runs this shard of a provider plan into the trace. */
  public static Outcome run(ProviderPlan plan, Options o, Progress progress, Consumer<String> log) {
    ExperimentSpec spec = plan.spec();
    ProviderExecutor x = new ProviderExecutor(plan);
    TraceSession session;
    try {
      session = TraceSession.open(spec, o, x.modelHash(), x::settings, x.engineKind(), log);
    } catch (RuntimeException e) {
      x.close();
      throw e;
    }
    return RunLoop.drive(plan.shard(o.shardIndex(), o.shardCount()), x, session, o, progress, log);
  }

  /**
   * Runs this shard of the plan into the trace: the devices checked and the prompts encoded before
   * the trace exists, then every forward-pass group through the run loop.
   */
  public static Outcome run(Plan plan, Options o, Progress progress, Consumer<String> log) {
    ExperimentSpec spec = plan.spec();
    EngineProvider engineKind = Engines.check(spec.engine());
    ModelDir dir = spec.modelDir();
    EngineSet engines = EngineSet.of(spec, dir);
    // The tokenizer loads before the trace exists: a broken one leaves no header-only trace behind.
    TextTokenizer tok = dir.tokenizer();
    try (tok) {
      checkPrompts(spec, tok, dir.config().contextLength());
      TraceSession session =
          TraceSession.open(
              spec, o, dir.hash(), () -> probeSettings(engines.loaders()), engineKind, log);
      // Variables the math library reads at load cannot change in this process: with an env
      // axis, each environment's groups run in a child process started with them.
      RunLoop.Executor<Plan.Pass> x =
          spec.axes().env().isEmpty()
              ? new LocalExecutor(spec, engines, dir, tok)
              : new ForkedExecutor(spec, log);
      return RunLoop.drive(
          plan.shard(o.shardIndex(), o.shardCount()), x, session, o, progress, log);
    }
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
}
