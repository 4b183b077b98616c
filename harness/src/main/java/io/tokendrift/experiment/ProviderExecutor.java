package io.tokendrift.experiment;

import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.RemoteEngine;
import io.tokendrift.engine.RemoteReply;
import io.tokendrift.engine.RemoteRequest;
import io.tokendrift.engine.RemoteSettings;
import io.tokendrift.model.ModelDir;
import io.tokendrift.spec.Defaults;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.ProviderPoint;
import io.tokendrift.trace.RunRecord;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Runs waves of a {@link ProviderPlan} against an HTTP provider: each wave's requests released
 * together on their own threads, so they are in flight at the same time; each reply becomes a run
 * record (a request that fails after the client's retries is a failed run with the status and
 * message). For {@code base_url: local} it starts the servers first ({@link LocalServers}). Repeats
 * are spread by the spec's interval: repeat r is due r intervals after the first repeat this
 * process sends (a resumed run does not wait for the repeats an earlier process already sent).
 */
final class ProviderExecutor implements RunLoop.Executor<ProviderPlan.Wave> {
  private final ExperimentSpec spec;
  private final EngineProvider engineKind;
  private final LocalServers servers;
  private final String modelHash;

  /** The engine's top_logprobs, read once (its options do not change during a run). */
  private final int topLogprobs;

  private final Map<String, RemoteEngine> engines = new HashMap<>();

  /** The served model run locally in float64 ({@code truth: {model: M}}), or null. */
  private final ProviderTruth truth;

  private final Map<String, String> settings;
  private final ExecutorService pool;
  private long t0;
  private int firstRepeat = -1;

  /** Whether any request of this process has had an HTTP reply (of any status). */
  private boolean answered;

  /**
   * Opens the provider's engines (and starts the local servers) before the trace exists: a missing
   * API key leaves no file behind.
   */
  ProviderExecutor(ProviderPlan plan) {
    this.spec = plan.spec();
    this.engineKind = Engines.check(spec.engine());
    RemoteSettings rs = spec.remoteSettings();
    this.topLogprobs = rs.topLogprobs();
    ModelDir dir = rs.local() ? spec.modelDir() : null;
    this.modelHash = rs.local() ? dir.hash() : remoteHash(spec.engine());
    this.servers = rs.local() ? new LocalServers(dir, rs.maxBatch(), rs.apiKeyEnv()) : null;
    try {
      List<Boolean> modes = spec.provider().serverInvariant();
      List<String> precisions = spec.provider().serverPrecisions();
      RemoteEngine first =
          engine(
              modes.isEmpty() ? null : modes.get(0),
              precisions.isEmpty() ? null : precisions.get(0));
      Map<String, String> m = new TreeMap<>(first.settings());
      if (servers != null) {
        // The started servers' ports change every run: the manifest says local, and records
        // each server's fingerprint (what can change a bit) instead.
        for (Boolean mode : modes) {
          for (String pr :
              precisions.isEmpty() ? java.util.Arrays.asList((String) null) : precisions) {
            engine(mode, pr);
          }
        }
        m.put("openai.base_url", "local (tokendrift serve started by the run)");
        m.putAll(servers.fingerprints());
      }
      // What each request set sends: the trace says what its points' names stood for.
      spec.provider().requests().forEach((name, json) -> m.put("request." + name, json));
      String tm = spec.provider().truthModel();
      if (tm != null) {
        java.nio.file.Path folder = ExperimentSpec.modelFolder(tm, spec.source());
        this.truth =
            new ProviderTruth(
                folder == null
                    ? io.tokendrift.model.BundledModel.open()
                    : io.tokendrift.model.ModelDir.open(folder));
        m.put("truth.model", folder == null ? tm : folder.toString());
        truth.settings().forEach((k, v) -> m.put("truth." + k, v));
      } else {
        this.truth = null;
      }
      this.settings = m;
    } catch (RuntimeException e) {
      closeEngines(e);
      throw e;
    }
    int most = plan.waves().stream().mapToInt(ProviderPlan.Wave::concurrency).max().orElse(1);
    this.pool = Executors.newFixedThreadPool(most, daemon());
  }

  /** The engine's settings for a new trace's manifest. */
  Map<String, String> settings() {
    return settings;
  }

  /** The model hash the trace header records: the served folder's, or the URL and name's. */
  String modelHash() {
    return modelHash;
  }

  /** The engine kind (its factory), for the trace's GPU probe. */
  EngineProvider engineKind() {
    return engineKind;
  }

  @Override
  public boolean execute(ProviderPlan.Wave w, Set<String> done, Consumer<RunRecord> out) {
    List<ProviderPlan.Run> pending = w.runs().stream().filter(r -> !done.contains(r.id())).toList();
    try {
      if (firstRepeat < 0) {
        firstRepeat = w.repeat();
        t0 = System.nanoTime();
      }
      double interval = spec.provider().intervalSeconds();
      if (interval > 0 && w.repeat() > firstRepeat) {
        long due = t0 + (long) ((w.repeat() - firstRepeat) * interval * 1e9);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
      }
      boolean first = !answered;
      List<RemoteReply> all =
          wave(engine(w.point().batchInvariant(), w.point().precision()), w, pending);
      int[] inFlight = WaveRecords.inFlight(all);
      List<RemoteReply> replies = all.subList(0, pending.size());
      for (int i = 0; i < pending.size(); i++) {
        RunRecord rec = WaveRecords.record(pending.get(i), w, i, replies.get(i), inFlight[i]);
        if (truth != null && rec.status() == RunRecord.Status.OK) {
          try {
            truth.annotate(pending.get(i).prompt().text(), rec.steps());
          } catch (RuntimeException e) {
            // The run stands without its truth (e.g. prompt and served tokens longer than the
            // local model's context): recorded, never lost for want of a comparison.
            rec.steps().clearExact();
          }
        }
        out.accept(rec);
      }
      answered |= replies.stream().anyMatch(r -> r.httpStatus() != 0);
      if (first && !answered) {
        // Not one request of the first wave got any reply: the server is not there (or not
        // reachable). Sending the rest would only repeat that, once per request.
        throw new io.tokendrift.engine.EnvironmentException(
            "no request of the first wave got a reply ("
                + replies.get(0).error()
                + "); is the server up at engine.base_url? Stopped after "
                + pending.size()
                + " failed run(s), kept in the trace (--resume runs them again)");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the provider", e);
    }
    return true;
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
    try {
      closeEngines(null);
    } finally {
      if (truth != null) {
        truth.close();
      }
    }
  }

  /** Closes every engine and the local servers, keeping every failure (the first thrown). */
  private void closeEngines(RuntimeException already) {
    RuntimeException first = already;
    for (RemoteEngine e : engines.values()) {
      try {
        e.close();
      } catch (RuntimeException x) {
        first = keep(first, x);
      }
    }
    engines.clear();
    if (servers != null) {
      try {
        servers.close();
      } catch (RuntimeException x) {
        first = keep(first, x);
      }
    }
    if (first != null && first != already) {
      throw first;
    }
  }

  static RuntimeException keep(RuntimeException first, RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  /**
   * Sends a wave: every request (recorded runs first, then fillers) waits on one latch, released
   * together, so they are in flight at the same time.
   */
  private List<RemoteReply> wave(
      RemoteEngine engine, ProviderPlan.Wave w, List<ProviderPlan.Run> pending)
      throws InterruptedException {
    List<String> texts = new ArrayList<>();
    pending.forEach(r -> texts.add(r.prompt().text()));
    texts.addAll(w.fillers());
    // Runs already recorded (resume) give their slots to fillers: the load stays c requests.
    for (int j = 0; texts.size() < w.concurrency(); j++) {
      texts.add(
          io.tokendrift.engine.Fillers.TEXTS.get(j % io.tokendrift.engine.Fillers.TEXTS.size()));
    }
    CountDownLatch go = new CountDownLatch(1);
    List<Future<RemoteReply>> futures = new ArrayList<>();
    for (String text : texts) {
      RemoteRequest req = request(spec, topLogprobs, w, text);
      futures.add(
          pool.submit(
              () -> {
                go.await();
                return engine.complete(req);
              }));
    }
    go.countDown();
    List<RemoteReply> out = new ArrayList<>();
    for (Future<RemoteReply> f : futures) {
      try {
        out.add(f.get());
      } catch (ExecutionException e) {
        out.add(RemoteReply.failed(io.tokendrift.engine.Failures.describe(e.getCause()), 0, 1, 0));
      }
    }
    return out;
  }

  /**
   * The request of one prompt of a wave.
   *
   * @param top alternatives per token asked for when the point asks for logprobs
   */
  static RemoteRequest request(ExperimentSpec spec, int top, ProviderPlan.Wave w, String text) {
    ExperimentSpec.Decoding d = spec.decoding();
    ProviderPoint p = w.point();
    return new RemoteRequest(
        text,
        p.chat(),
        d.maxTokens(),
        d.temperature(),
        d.topP(),
        p.seedSent() ? w.seed() : null,
        p.logprobs() ? top : -1,
        d.stop(),
        p.request() == null ? null : spec.provider().requests().get(p.request()));
  }

  /** The engine for a server mode and precision (null, null: the spec's own base URL). */
  private RemoteEngine engine(Boolean mode, String precision) {
    String k = mode + "/" + precision;
    RemoteEngine e = engines.get(k);
    if (e == null) {
      EngineSpec es = spec.engine();
      if (servers != null) {
        Map<String, String> opts = new TreeMap<>(es.options());
        opts.put(
            "base_url",
            servers.baseUrl(
                Boolean.TRUE.equals(mode),
                precision == null
                    ? io.tokendrift.engine.Precision.FP32
                    : io.tokendrift.engine.Precision.parse(precision)));
        if (opts.getOrDefault("model", "").isBlank()) {
          opts.put("model", Defaults.LOCAL_SERVE_MODEL);
        }
        es = new EngineSpec(es.kind(), opts);
      }
      e = engineKind.openRemote(es);
      engines.put(k, e);
    }
    return e;
  }

  /** What stands for a model hash when the model is behind an API: its URL and name. */
  static String remoteHash(EngineSpec engine) {
    // The options as written (the hash of traces recorded before must not move).
    String s =
        "remote\n"
            + engine.options().getOrDefault("base_url", "")
            + "\n"
            + engine.options().getOrDefault("model", "");
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException ex) {
      throw new IllegalStateException(ex);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon() {
    return r -> {
      Thread t = new Thread(r, "tokendrift-provider");
      t.setDaemon(true);
      return t;
    };
  }
}
