package io.tokendrift.experiment;

import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.RemoteEngine;
import io.tokendrift.engine.RemoteReply;
import io.tokendrift.engine.RemoteRequest;
import io.tokendrift.engine.RemoteToken;
import io.tokendrift.model.ModelDir;
import io.tokendrift.trace.ProviderCall;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import io.tokendrift.trace.TraceWriter;
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
 * Executes a {@link ProviderPlan}: wave by wave, each wave's requests released together on their
 * own threads, each recorded run appended to the trace and forced to disk as the wave completes. A
 * request that fails after the client's retries is a failed run with the status and message; the
 * experiment goes on (unless fail-fast). Resumable as local runs are.
 */
public final class ProviderRunner {
  private ProviderRunner() {}

  /** Runs this shard of the plan into the trace. */
  public static Runner.Outcome run(
      ProviderPlan plan, Runner.Options o, Runner.Progress progress, Consumer<String> log) {
    ExperimentSpec spec = plan.spec();
    EngineProvider provider = Engines.check(spec.engine());
    boolean local = "local".equals(spec.engine().options().get("base_url"));
    ModelDir dir = local ? Runner.model(spec) : null;
    String modelHash = local ? dir.hash() : remoteHash(spec.engine());
    int maxBatch = Integer.parseInt(spec.engine().options().getOrDefault("max_batch", "8"));
    try (LocalServers servers =
        local
            ? new LocalServers(dir, maxBatch, spec.engine().options().get("api_key_env"))
            : null) {
      Map<String, RemoteEngine> engines = new HashMap<>();
      try {
        // Opened before the trace: a missing API key leaves no file behind.
        RemoteEngine first = engine(spec, provider, servers, engines, firstMode(spec));
        Map<String, String> settings = new TreeMap<>(first.settings());
        if (servers != null) {
          // The started servers' ports change every run: the manifest says local, and records
          // each server's fingerprint (what can change a bit) instead.
          for (Boolean mode : spec.provider().serverInvariant()) {
            engine(spec, provider, servers, engines, mode);
          }
          settings.put("openai.base_url", "local (tokendrift serve started by the run)");
          settings.putAll(servers.fingerprints());
        }
        TraceSession session = TraceSession.open(spec, o, modelHash, () -> settings, provider, log);
        return execute(plan, o, progress, log, spec, provider, servers, engines, session);
      } finally {
        engines.values().forEach(RemoteEngine::close);
      }
    }
  }

  private static Runner.Outcome execute(
      ProviderPlan plan,
      Runner.Options o,
      Runner.Progress progress,
      Consumer<String> log,
      ExperimentSpec spec,
      EngineProvider provider,
      LocalServers servers,
      Map<String, RemoteEngine> engines,
      TraceSession session) {
    List<ProviderPlan.Wave> mine = plan.shard(o.shardIndex(), o.shardCount());
    Set<String> done = session.done();
    int already = 0;
    int remaining = 0;
    for (ProviderPlan.Wave w : mine) {
      for (ProviderPlan.Run r : w.runs()) {
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
    long steps = 0;
    int waves = 0;
    long t0 = System.nanoTime();
    double interval = spec.provider().intervalSeconds();
    // Repeat r is due r intervals after the first repeat this process sends (a resumed run does
    // not wait for the repeats an earlier process already sent).
    int firstRepeat =
        mine.stream()
            .filter(w -> w.runs().stream().anyMatch(r -> !done.contains(r.id())))
            .mapToInt(ProviderPlan.Wave::repeat)
            .min()
            .orElse(0);
    int most = mine.stream().mapToInt(ProviderPlan.Wave::concurrency).max().orElse(1);
    ExecutorService pool = Executors.newFixedThreadPool(most, daemon());
    try (TraceWriter writer = session.writer()) {
      for (ProviderPlan.Wave w : mine) {
        List<ProviderPlan.Run> pending =
            w.runs().stream().filter(r -> !done.contains(r.id())).toList();
        if (pending.isEmpty()) {
          continue;
        }
        if (interval > 0 && w.repeat() > firstRepeat) {
          long due = t0 + (long) ((w.repeat() - firstRepeat) * interval * 1e9);
          long wait = due - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
        }
        RemoteEngine engine = engine(spec, provider, servers, engines, mode(w.point()));
        List<RemoteReply> replies = wave(pool, engine, spec, w, pending);
        waves++;
        boolean anyFailed = false;
        for (int i = 0; i < pending.size(); i++) {
          RunRecord rec = record(pending.get(i), w, i, replies.get(i));
          writer.write(rec);
          if (rec.status() == RunRecord.Status.OK) {
            ok++;
            steps += rec.tokens().length;
          } else {
            failed++;
            anyFailed = true;
            log.accept(
                "run "
                    + rec.id()
                    + " ("
                    + rec.promptId()
                    + " at "
                    + key(w)
                    + ") failed: "
                    + rec.error());
          }
        }
        progress.advance(pending.size());
        if (anyFailed && o.failFast()) {
          log.accept("--fail-fast: stopping after the first failure");
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the provider", e);
    } finally {
      pool.shutdownNow();
    }
    return new Runner.Outcome(
        ok, failed, 0, already, session.truncated(), steps, (System.nanoTime() - t0) / 1e9, waves);
  }

  private static String key(ProviderPlan.Wave w) {
    return io.tokendrift.trace.PointKey.keyOf(w.point());
  }

  /**
   * Sends a wave: every request (recorded runs first, then fillers) waits on one latch, released
   * together, so they are in flight at the same time.
   */
  private static List<RemoteReply> wave(
      ExecutorService pool,
      RemoteEngine engine,
      ExperimentSpec spec,
      ProviderPlan.Wave w,
      List<ProviderPlan.Run> pending)
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
      RemoteRequest req = request(spec, w, text);
      futures.add(
          pool.submit(
              () -> {
                go.await();
                return engine.complete(req);
              }));
    }
    go.countDown();
    List<RemoteReply> out = new ArrayList<>();
    for (int i = 0; i < futures.size(); i++) {
      try {
        RemoteReply r = futures.get(i).get();
        if (i < pending.size()) {
          out.add(r);
        }
      } catch (ExecutionException e) {
        Throwable c = e.getCause();
        if (i < pending.size()) {
          out.add(
              RemoteReply.failed(c.getClass().getSimpleName() + ": " + c.getMessage(), 0, 1, 0));
        }
      }
    }
    return out;
  }

  static RemoteRequest request(ExperimentSpec spec, ProviderPlan.Wave w, String text) {
    ExperimentSpec.Decoding d = spec.decoding();
    Map<String, String> p = w.point();
    int top =
        Integer.parseInt(
            spec.engine().options().getOrDefault("top_logprobs", Integer.toString(20)));
    return new RemoteRequest(
        text,
        p.get("api").equals("chat"),
        d.maxTokens(),
        d.temperature(),
        d.topP(),
        p.get("seed").equals("sent") ? w.seed() : null,
        Boolean.parseBoolean(p.get("logprobs")) ? top : -1,
        d.stop());
  }

  /** The trace record of one run from its reply. */
  static RunRecord record(ProviderPlan.Run run, ProviderPlan.Wave w, int slot, RemoteReply r) {
    boolean lp = Boolean.parseBoolean(w.point().get("logprobs"));
    ProviderCall call =
        new ProviderCall(
            r.responseId(),
            r.model(),
            r.systemFingerprint(),
            r.finishReason(),
            r.promptTokens(),
            r.completionTokens(),
            r.latencyMs(),
            r.httpStatus(),
            r.attempts(),
            lp);
    if (!r.ok()) {
      return new RunRecord(
          run.id(),
          RunRecord.Status.FAILED,
          run.prompt().id(),
          run.prompt().text(),
          run.point(),
          run.seed(),
          run.repeat(),
          null,
          "",
          new int[0],
          new int[0],
          r.latencyMs(),
          w.concurrency(),
          slot,
          r.error(),
          null,
          call);
    }
    int[] tokens = new int[0];
    Steps steps = new Steps(1, false);
    if (lp && r.tokens() != null) {
      int k = 1;
      for (RemoteToken t : r.tokens()) {
        k = Math.max(k, t.topTexts().size());
      }
      steps = new Steps(k, false);
      tokens = new int[r.tokens().size()];
      for (int i = 0; i < tokens.length; i++) {
        RemoteToken t = r.tokens().get(i);
        tokens[i] = RemoteToken.idOf(t.text());
        int[] ids = new int[t.topTexts().size()];
        float[] values = new float[ids.length];
        for (int j = 0; j < ids.length; j++) {
          ids[j] = RemoteToken.idOf(t.topTexts().get(j));
          values[j] = (float) t.topLogprobs()[j];
        }
        steps.addText(
            (float) t.logprob(),
            ids,
            values,
            t.text(),
            t.bytes(),
            t.topTexts().toArray(new String[0]));
      }
    }
    return new RunRecord(
        run.id(),
        RunRecord.Status.OK,
        run.prompt().id(),
        run.prompt().text(),
        run.point(),
        run.seed(),
        run.repeat(),
        stopReason(r.finishReason()),
        r.text(),
        new int[0],
        tokens,
        r.latencyMs(),
        w.concurrency(),
        slot,
        null,
        steps,
        call);
  }

  /** The provider's finish_reason in the trace's terms: length → MAX_TOKENS, stop → STOP. */
  static String stopReason(String finish) {
    if (finish == null) {
      return "UNKNOWN";
    }
    return switch (finish) {
      case "length" -> "MAX_TOKENS";
      case "stop" -> "STOP"; // end of sequence or a stop sequence: the API does not say which
      default -> finish.toUpperCase(java.util.Locale.ROOT);
    };
  }

  private static Boolean firstMode(ExperimentSpec spec) {
    List<Boolean> modes = spec.provider().serverInvariant();
    return modes.isEmpty() ? null : modes.get(0);
  }

  private static Boolean mode(Map<String, String> point) {
    String v = point.get("batch_invariant");
    return v == null ? null : Boolean.valueOf(v);
  }

  /** The engine for a server mode (null: the spec's own base URL). */
  private static RemoteEngine engine(
      ExperimentSpec spec,
      EngineProvider provider,
      LocalServers servers,
      Map<String, RemoteEngine> engines,
      Boolean mode) {
    String k = String.valueOf(mode);
    RemoteEngine e = engines.get(k);
    if (e == null) {
      EngineSpec es = spec.engine();
      if (servers != null) {
        Map<String, String> opts = new TreeMap<>(es.options());
        opts.put("base_url", servers.baseUrl(Boolean.TRUE.equals(mode)));
        if (opts.getOrDefault("model", "").isBlank()) {
          opts.put("model", LocalServers.MODEL_ID);
        }
        es = new EngineSpec(es.kind(), opts);
      }
      e = provider.openRemote(es);
      engines.put(k, e);
    }
    return e;
  }

  /** What stands for a model hash when the model is behind an API: its URL and name. */
  static String remoteHash(EngineSpec engine) {
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
