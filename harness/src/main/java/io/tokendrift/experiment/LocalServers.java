package io.tokendrift.experiment;

import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.serve.Server;
import io.tokendrift.spec.Defaults;
import java.util.Map;
import java.util.TreeMap;

/**
 * For {@code base_url: local}: a real {@code tokendrift serve} on loopback (a free port) per
 * batch-invariant mode the spec asks for, started by the experiment and stopped with it, so that a
 * provider experiment runs with no setup. Requests reach it over HTTP like any provider's.
 */
final class LocalServers implements AutoCloseable {
  private final ModelDir dir;
  private final int maxBatch;
  private final String apiKeyEnv;
  private final Map<String, Running> servers = new TreeMap<>();

  private record Running(Server server, Engine engine, TextTokenizer tok) {}

  LocalServers(ModelDir dir, int maxBatch, String apiKeyEnv) {
    this.dir = dir;
    this.maxBatch = maxBatch;
    this.apiKeyEnv = apiKeyEnv;
  }

  /** The base URL of the server in this mode, started on first use. */
  String baseUrl(boolean batchInvariant) {
    return baseUrl(batchInvariant, Precision.FP32);
  }

  /** The base URL of the server in this mode and precision, started on first use. */
  String baseUrl(boolean batchInvariant, Precision precision) {
    String id =
        "batch_invariant="
            + batchInvariant
            + (precision == Precision.FP32 ? "" : ",precision=" + precision.label());
    Running r = servers.get(id);
    if (r == null) {
      String key = apiKeyEnv == null ? null : System.getenv(apiKeyEnv);
      TextTokenizer tok = dir.tokenizer();
      Engine engine = null;
      try {
        engine =
            Engines.open(
                EngineSpec.DEFAULT,
                dir,
                new EngineOptions(
                    DeviceSpec.CPU, precision, SummationOrder.NATIVE, 0, batchInvariant));
        Server s =
            new Server(
                engine,
                dir,
                tok,
                new Server.Options(
                    "127.0.0.1",
                    0,
                    Defaults.LOCAL_SERVE_MODEL,
                    maxBatch,
                    4096,
                    1 << 20,
                    key,
                    batchInvariant,
                    false));
        r = new Running(s, engine, tok);
      } catch (RuntimeException e) {
        if (engine != null) {
          engine.close();
        }
        tok.close();
        throw e;
      }
      servers.put(id, r);
    }
    return "http://127.0.0.1:" + r.server().port() + "/v1";
  }

  /** Each started server's fingerprint, by mode, for the manifest. */
  Map<String, String> fingerprints() {
    Map<String, String> m = new TreeMap<>();
    servers.forEach((id, r) -> m.put("serve.fingerprint." + id, r.server().fingerprint()));
    return m;
  }

  @Override
  public void close() {
    // Every server is stopped whatever the others do; every failure is kept (the first thrown,
    // the others suppressed in it).
    RuntimeException first = null;
    for (Running r : servers.values()) {
      try {
        try {
          r.server().drain(5_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        r.server().close();
      } catch (RuntimeException e) {
        first = ProviderExecutor.keep(first, e);
      } finally {
        try {
          r.engine().close();
        } catch (RuntimeException e) {
          first = ProviderExecutor.keep(first, e);
        }
        r.tok().close();
      }
    }
    servers.clear();
    if (first != null) {
      throw first;
    }
  }
}
