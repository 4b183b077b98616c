package io.tokendrift.experiment;

import io.tokendrift.decode.Completion;
import io.tokendrift.decode.DecodeSettings;
import io.tokendrift.decode.Generation;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.decode.StepObserver;
import io.tokendrift.decode.StopConditions;
import io.tokendrift.engine.BatchDecoder;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.engine.djl.DjlGpt2Engine;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.model.tiny.BundledModel;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import io.tokendrift.trace.TraceWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
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

  /** The canonical form of everything that defines the runs, hashed into the trace header. */
  public static String specHash(ExperimentSpec s) {
    StringBuilder b = new StringBuilder();
    b.append("name=").append(s.name()).append('\n');
    b.append("model=").append(s.model()).append('\n');
    for (ExperimentSpec.Prompt p : s.prompts()) {
      b.append("prompt=").append(p.id()).append('\t').append(p.text()).append('\n');
    }
    b.append("decoding=").append(Plan.decodingKey(s.decoding())).append(s.decoding().seeds());
    b.append('\n').append("axes=").append(s.axes()).append('\n');
    b.append("reference=").append(s.reference().key()).append('\n');
    b.append("record=").append(s.record()).append('\n');
    return Plan.sha256(b.toString());
  }

  static Map<String, String> decodingMap(ExperimentSpec.Decoding d) {
    Map<String, String> m = new TreeMap<>();
    m.put("temperature", Double.toString(d.temperature()));
    m.put("top_k", Integer.toString(d.topK()));
    m.put("top_p", Double.toString(d.topP()));
    m.put("method", d.method().name().toLowerCase(java.util.Locale.ROOT));
    m.put("max_tokens", Integer.toString(d.maxTokens()));
    m.put("stop", d.stop().toString());
    m.put("seeds", d.seeds().toString());
    m.put("timeout_seconds", Double.toString(d.timeoutSeconds()));
    return m;
  }

  /**
   * Runs this shard of the plan into the trace.
   *
   * @param log one line per notable event (skips, failures, resume)
   */
  public static Outcome run(Plan plan, Options o, Progress progress, Consumer<String> log) {
    ExperimentSpec spec = plan.spec();
    List<Plan.Batch> mine = plan.shard(o.shardIndex(), o.shardCount());
    // GPUs first: a missing GPU is an error before anything runs, or a stated skip.
    int gpus = -1;
    Set<String> unavailable = new HashSet<>();
    for (var d : spec.axes().devices()) {
      if (d.gpu()) {
        if (gpus < 0) {
          gpus = ai.djl.engine.Engine.getEngine("PyTorch").getGpuCount();
        }
        if (d.index() >= gpus) {
          if (!spec.axes().devicesOptional()) {
            throw new EnvironmentException(
                "the spec asks for device "
                    + d
                    + " but this machine has "
                    + gpus
                    + " GPU(s) visible to PyTorch; mark the device axis optional"
                    + " (axes.device: {values: [...], optional: true}) to skip those points");
          }
          unavailable.add(d.toString());
        }
      }
    }
    ModelDir dir = model(spec);
    Gpt2Weights weights = dir.weights();
    String modelHash = dir.hash();
    Set<String> done = new HashSet<>();
    TraceReader.Truncation truncated = null;
    TraceWriter writer;
    String shard = o.shardCount() == 1 ? "all" : o.shardIndex() + "/" + o.shardCount();
    if (o.resume() && Files.exists(o.trace())) {
      long valid;
      try (TraceReader r = TraceReader.open(o.trace())) {
        TraceHeader h = r.header();
        if (!h.specSha256().equals(specHash(spec))) {
          throw new IllegalArgumentException(
              o.trace()
                  + ": was written by a different spec (or an edited one); --force starts over");
        }
        if (!h.shard().equals(shard)) {
          throw new IllegalArgumentException(
              o.trace() + ": holds shard " + h.shard() + ", not " + shard);
        }
        if (!h.manifest().getOrDefault("model.sha256", "").equals(modelHash)) {
          throw new IllegalArgumentException(
              o.trace()
                  + ": was recorded with another model (sha256 differs); --force starts over");
        }
        while (r.hasNext()) {
          RunRecord rec = r.next();
          if (!done.add(rec.id())) {
            throw new IllegalArgumentException(
                o.trace() + ": run " + rec.id() + " is recorded twice; the trace is damaged");
          }
        }
        truncated = r.truncatedTail();
        valid = r.validLength();
      }
      if (truncated != null) {
        log.accept(
            String.format(
                java.util.Locale.ROOT,
                "%s:%d: the last record was cut off (%d bytes, no newline): removed; its run will"
                    + " be run again",
                o.trace(),
                truncated.line(),
                truncated.bytes()));
      }
      writer = TraceWriter.append(o.trace(), valid);
    } else {
      if (o.resume()) {
        log.accept(o.trace() + ": no trace to resume; starting a new one");
      }
      Map<String, String> engineSettings;
      try (DjlGpt2Engine probe = new DjlGpt2Engine(weights, EngineOptions.DEFAULTS)) {
        engineSettings = probe.settings();
      }
      Map<String, String> recording = new TreeMap<>();
      recording.put("top_k", Integer.toString(spec.record().topK()));
      recording.put("full_logits", Boolean.toString(spec.record().fullLogits()));
      TraceHeader header =
          new TraceHeader(
              spec.name(),
              specHash(spec),
              spec.gridSize(),
              spec.reference().key(),
              decodingMap(spec.decoding()),
              recording,
              shard,
              Manifest.collect(
                  engineSettings,
                  ExperimentSpec.BUNDLED.equals(spec.model()) ? BundledModel.NAME : spec.model(),
                  modelHash));
      writer = TraceWriter.create(o.trace(), header, o.force());
    }
    long remaining = 0;
    int already = 0;
    for (Plan.Batch b : mine) {
      for (Plan.Run r : b.runs().values()) {
        if (done.contains(r.id())) {
          already++;
        } else {
          remaining++;
        }
      }
    }
    progress.start(remaining, already);
    int ok = 0;
    int failed = 0;
    int skipped = 0;
    long steps = 0;
    int batches = 0;
    long t0 = System.nanoTime();
    try (writer;
        TextTokenizer tok = dir.tokenizer()) {
      Map<String, int[]> encoded = new HashMap<>();
      EngineOptions current = null;
      DjlGpt2Engine engine = null;
      try {
        for (Plan.Batch b : mine) {
          List<Plan.Run> pending = new ArrayList<>();
          for (Plan.Run r : b.runs().values()) {
            if (!done.contains(r.id())) {
              pending.add(r);
            }
          }
          if (pending.isEmpty()) {
            continue;
          }
          if (unavailable.contains(b.options().device().toString())) {
            for (Map.Entry<Integer, Plan.Run> e : b.runs().entrySet()) {
              if (done.contains(e.getValue().id())) {
                continue;
              }
              writer.write(
                  unfinished(
                      e.getValue(),
                      b,
                      e.getKey(),
                      0,
                      RunRecord.Status.SKIPPED,
                      "device "
                          + b.options().device()
                          + " is not available on this machine (the spec marks devices optional)"));
              skipped++;
            }
            progress.advance(pending.size());
            continue;
          }
          long bt0 = System.nanoTime();
          Map<Integer, StepRecorder> recorders = new LinkedHashMap<>();
          List<Completion> completions;
          List<int[]> rowIds = new ArrayList<>();
          String error = null;
          try {
            if (!b.options().equals(current)) {
              if (engine != null) {
                engine.close();
                engine = null;
              }
              current = null;
              engine = new DjlGpt2Engine(weights, b.options());
              current = b.options();
            }
            List<Generation> gens = new ArrayList<>();
            List<StepObserver> observers = new ArrayList<>();
            for (int r = 0; r < b.rows().size(); r++) {
              String text = b.rows().get(r);
              int[] ids = encoded.computeIfAbsent(text, tok::encode);
              if (ids.length == 0) {
                throw new IllegalArgumentException("prompt '" + text + "' encodes to no tokens");
              }
              rowIds.add(ids);
              gens.add(
                  new Generation(
                      settings(spec, b.seed(), dir.config().eosTokenId()),
                      Plan.drawStream(text, b.seed()),
                      tok,
                      System::nanoTime));
              Plan.Run run = b.runs().get(r);
              if (run != null && !done.contains(run.id())) {
                StepRecorder rec =
                    new StepRecorder(spec.record().topK(), spec.record().fullLogits());
                recorders.put(r, rec);
                observers.add(rec);
              } else {
                observers.add(StepObserver.NONE);
              }
            }
            completions = BatchDecoder.run(engine, rowIds, gens, observers);
          } catch (RuntimeException ex) {
            completions = null;
            error = ex.getClass().getSimpleName() + ": " + ex.getMessage();
          }
          double ms = (System.nanoTime() - bt0) / 1e6;
          batches++;
          if (completions == null) {
            for (Map.Entry<Integer, Plan.Run> e : b.runs().entrySet()) {
              if (!done.contains(e.getValue().id())) {
                writer.write(
                    unfinished(e.getValue(), b, e.getKey(), ms, RunRecord.Status.FAILED, error));
                failed++;
              }
            }
          } else {
            for (Map.Entry<Integer, StepRecorder> e : recorders.entrySet()) {
              int row = e.getKey();
              Plan.Run run = b.runs().get(row);
              Completion c = completions.get(row);
              int[] tokens = c.tokens().stream().mapToInt(Integer::intValue).toArray();
              writer.write(
                  new RunRecord(
                      run.id(),
                      RunRecord.Status.OK,
                      run.prompt().id(),
                      run.prompt().text(),
                      run.point().values(),
                      run.seed(),
                      run.repeat(),
                      c.stopReason().name(),
                      c.text(),
                      rowIds.get(row),
                      tokens,
                      ms,
                      b.rows().size(),
                      row,
                      null,
                      e.getValue().steps()));
              ok++;
              steps += tokens.length;
            }
          }
          progress.advance(pending.size());
          if (completions == null) {
            log.accept(
                "batch "
                    + b.index()
                    + " ("
                    + pending.size()
                    + " runs at "
                    + b.options().device()
                    + ") failed: "
                    + error);
            if (o.failFast()) {
              log.accept("--fail-fast: stopping after the first failure");
              break;
            }
          }
        }
      } finally {
        if (engine != null) {
          engine.close();
        }
      }
    }
    return new Outcome(
        ok, failed, skipped, already, truncated, steps, (System.nanoTime() - t0) / 1e9, batches);
  }

  static DecodeSettings settings(ExperimentSpec spec, long seed, int eos) {
    ExperimentSpec.Decoding d = spec.decoding();
    SamplingSettings s =
        d.temperature() == 0
            ? SamplingSettings.GREEDY
            : SamplingSettings.of(d.temperature(), d.topK(), d.topP()).withMethod(d.method());
    return new DecodeSettings(
        s,
        new StopConditions(
            d.maxTokens(),
            eos < 0 ? Set.of() : Set.of(eos),
            d.stop(),
            Duration.ofNanos((long) (d.timeoutSeconds() * 1e9))),
        seed);
  }

  /** A run that produced no tokens: failed (with the error) or skipped (with the reason). */
  private static RunRecord unfinished(
      Plan.Run run, Plan.Batch b, int row, double ms, RunRecord.Status status, String message) {
    return new RunRecord(
        run.id(),
        status,
        run.prompt().id(),
        run.prompt().text(),
        run.point().values(),
        run.seed(),
        run.repeat(),
        null,
        "",
        new int[0],
        new int[0],
        ms,
        b.rows().size(),
        row,
        message,
        null);
  }
}
