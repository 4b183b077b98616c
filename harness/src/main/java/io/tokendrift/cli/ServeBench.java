package io.tokendrift.cli;

import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Fillers;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.serve.LoadBenchmark;
import io.tokendrift.serve.Server;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code bench --serve}: the bundled model served locally, under load, in four configurations. */
final class ServeBench {
  private ServeBench() {}

  static int run(PrintWriter out, int clients, int requests) throws Exception {
    ModelDir dir = BundledModel.open();
    List<String> prompts = new ArrayList<>(Fillers.TEXTS);
    prompts.add("The capital of France is");
    prompts.add("She poured a cup of");
    out.printf(
        Locale.ROOT,
        "serve load: %d clients x %d requests, 16 tokens each, bundled model, loopback%n",
        clients,
        requests);
    for (boolean invariant : new boolean[] {false, true}) {
      for (int maxBatch : new int[] {8, 1}) {
        try (TextTokenizer tok = dir.tokenizer();
            Engine engine =
                Engines.open(
                    EngineSpec.DEFAULT,
                    dir,
                    EngineOptions.DEFAULTS.withBatchInvariant(invariant))) {
          Server s =
              new Server(
                  engine,
                  dir,
                  tok,
                  new Server.Options(
                      "127.0.0.1",
                      0,
                      "tokendrift-tiny",
                      maxBatch,
                      clients * requests,
                      65_536,
                      null,
                      invariant,
                      false));
          try {
            LoadBenchmark.run(s.port(), 4, 2, 16, prompts); // warm-up
            LoadBenchmark.Result r = LoadBenchmark.run(s.port(), clients, requests, 16, prompts);
            out.printf(
                Locale.ROOT,
                "%-16s %-22s %4d/%d valid, %d unique ids, %7.1f tokens/s, p50 %7.1f ms, p99 %7.1f"
                    + " ms%n",
                invariant ? "batch-invariant" : "default",
                maxBatch == 1 ? "one at a time" : "continuous, max 8",
                r.valid(),
                r.sent(),
                r.uniqueIds(),
                r.tokensPerSecond(),
                r.p50Millis(),
                r.p99Millis());
            out.flush();
          } finally {
            s.close();
          }
        }
      }
    }
    return Main.OK;
  }
}
