package io.tokendrift.experiment;

import io.tokendrift.engine.EngineProvider;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceLock;
import io.tokendrift.trace.TraceReader;
import io.tokendrift.trace.TraceWriter;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The runner's first stage: a trace opened for writing — a new one with its header, or an existing
 * one resumed after checking it belongs to this spec, shard and model.
 *
 * @param writer appends run records
 * @param done ids of the runs the trace already holds
 * @param truncated a cut-off last record found (and removed) on resume, or null
 */
record TraceSession(TraceWriter writer, Set<String> done, TraceReader.Truncation truncated) {

  /**
   * Opens the trace of {@code o}.
   *
   * @param engineSettings the engine's settings for a new trace's manifest (asked only when needed)
   */
  static TraceSession open(
      ExperimentSpec spec,
      Runner.Options o,
      String modelHash,
      Supplier<Map<String, String>> engineSettings,
      EngineProvider engine,
      Consumer<String> log) {
    String shard = shardLabel(o);
    // The lock comes first: two runs must not both read, truncate or replace the same trace.
    TraceLock lock = TraceLock.acquire(o.trace());
    lock.staleMessage().ifPresent(log);
    try {
      if (o.resume() && Files.exists(o.trace())) {
        return resume(spec, o, shard, modelHash, lock, log);
      }
      if (o.resume()) {
        log.accept(o.trace() + ": no trace to resume; starting a new one");
      }
      TraceHeader header = header(spec, shard, modelHash, engineSettings.get(), gpus(spec, engine));
      return new TraceSession(
          TraceWriter.create(o.trace(), header, o.force(), lock), Set.of(), null);
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  /** The GPUs the engine sees, for the manifest; a failing probe is recorded, not thrown. */
  private static String gpus(ExperimentSpec spec, EngineProvider engine) {
    try {
      return Integer.toString(engine.gpuCount(spec.engine()));
    } catch (RuntimeException e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  static String shardLabel(Runner.Options o) {
    return o.shardCount() == 1 ? "all" : o.shardIndex() + "/" + o.shardCount();
  }

  private static TraceSession resume(
      ExperimentSpec spec,
      Runner.Options o,
      String shard,
      String modelHash,
      TraceLock lock,
      Consumer<String> log) {
    // A failed run is run again: only ok and skipped records count as done. Its new record
    // follows the failed one, and readers take a run's last record (docs/trace-format.md).
    Set<String> done = new HashSet<>();
    int retried = 0;
    TraceReader.Truncation truncated;
    long valid;
    try (TraceReader r = TraceReader.open(o.trace())) {
      checkBelongs(r.header(), spec, o, shard, modelHash);
      Set<String> failed = new HashSet<>();
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (done.contains(rec.id())) {
          throw new IllegalArgumentException(
              o.trace() + ": run " + rec.id() + " is recorded twice; the trace is damaged");
        }
        if (rec.status() == RunRecord.Status.FAILED) {
          failed.add(rec.id());
        } else {
          done.add(rec.id());
          failed.remove(rec.id());
        }
      }
      retried = failed.size();
      if (retried > 0) {
        log.accept(o.trace() + ": " + retried + " failed run(s) will be run again");
      }
      truncated = r.truncatedTail();
      valid = r.validLength();
    }
    if (truncated != null) {
      log.accept(
          String.format(
              Locale.ROOT,
              "%s:%d: the last record was cut off (%d bytes, no newline): removed; its run will"
                  + " be run again",
              o.trace(),
              truncated.line(),
              truncated.bytes()));
    }
    return new TraceSession(TraceWriter.append(o.trace(), valid, lock), done, truncated);
  }

  private static void checkBelongs(
      TraceHeader h, ExperimentSpec spec, Runner.Options o, String shard, String modelHash) {
    if (!h.specSha256().equals(spec.hash())) {
      throw new IllegalArgumentException(
          o.trace() + ": was written by a different spec (or an edited one); --force starts over");
    }
    if (!h.shard().equals(shard)) {
      throw new IllegalArgumentException(
          o.trace() + ": holds shard " + h.shard() + ", not " + shard);
    }
    if (!h.manifest().getOrDefault("model.sha256", "").equals(modelHash)) {
      throw new IllegalArgumentException(
          o.trace() + ": was recorded with another model (sha256 differs); --force starts over");
    }
  }

  private static TraceHeader header(
      ExperimentSpec spec,
      String shard,
      String modelHash,
      Map<String, String> engineSettings,
      String gpus) {
    Map<String, String> recording = new TreeMap<>();
    recording.put(
        "top_k",
        spec.remote()
            ? Integer.toString(spec.remoteSettings().topLogprobs())
            : Integer.toString(spec.record().topK()));
    recording.put("full_logits", Boolean.toString(spec.record().fullLogits()));
    return new TraceHeader(
        spec.name(),
        spec.hash(),
        spec.gridSize(),
        spec.referenceKey(),
        spec.decoding().asMap(),
        recording,
        shard,
        Manifest.collect(engineSettings, spec.modelName(), modelHash, gpus),
        spec.expectations(),
        spec.compareWithin());
  }
}
