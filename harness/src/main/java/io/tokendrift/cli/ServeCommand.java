package io.tokendrift.cli;

import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.serve.Server;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tokendrift serve}: the local provider. */
@Command(
    name = "serve",
    header = "Serve a model over an OpenAI-compatible HTTP API with continuous batching.",
    footer = {"", "Example:", "  tokendrift serve --port 8000 --batch-invariant"},
    mixinStandardHelpOptions = true,
    description =
        "Serve a model over an OpenAI-compatible HTTP API with continuous batching: requests join the running batch, so temperature-0 answers depend on the load, unless --batch-invariant.")
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", paramLabel = "bundled|DIR", description = "Model (default: bundled).")
  Path model;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind.")
  String host;

  @Option(names = "--port", defaultValue = "8000", description = "Port (0: any free one).")
  int port;

  @Option(names = "--max-batch", defaultValue = "8", description = "Requests decoded together.")
  int maxBatch;

  @Option(names = "--queue", defaultValue = "256", description = "Requests waiting (then 429).")
  int queue;

  @Option(
      names = "--max-body",
      defaultValue = "1048576",
      description = "Largest request body in bytes (then 413).")
  int maxBody;

  @Option(
      names = "--batch-invariant",
      description = "Decode each request alone: its logits do not depend on what else runs.")
  boolean batchInvariant;

  @Option(names = "--precision", defaultValue = "fp32", description = "fp32 or fp16.")
  String precision;

  @Option(names = "--summation", defaultValue = "native", description = "As for generate.")
  String summation;

  @Option(names = "--threads", defaultValue = "0", description = "PyTorch intra-op threads.")
  int threads;

  @Option(
      names = "--api-key-env",
      paramLabel = "VAR",
      description = "Require the key held by this environment variable (Bearer token).")
  String apiKeyEnv;

  @Option(
      names = "--allow-unknown-fields",
      description =
          "Skip request fields this server does not know instead of refusing them (400 naming the"
              + " field): for clients that send extras. A misspelled setting is then ignored.")
  boolean allowUnknownFields;

  @Mixin EngineFlags engineFlags = new EngineFlags();

  @Override
  public Integer call() throws Exception {
    if (maxBatch < 1 || queue < 1 || maxBody < 1) {
      throw new UserInputException("--max-batch, --queue and --max-body must be >= 1");
    }
    String key = null;
    if (apiKeyEnv != null) {
      key = System.getenv(apiKeyEnv);
      if (key == null || key.isEmpty()) {
        throw new UserInputException("--api-key-env " + apiKeyEnv + ": that variable is not set");
      }
    }
    EngineOptions options =
        new EngineOptions(
            DeviceSpec.CPU,
            Precision.parse(precision),
            SummationOrder.parse(summation),
            threads,
            batchInvariant);
    ModelDir dir = BundledModel.openOr(model);
    String id = model == null ? "tokendrift-tiny" : String.valueOf(dir.dir().getFileName());
    TextTokenizer tok = dir.tokenizer();
    Engine engine = Engines.open(engineFlags.spec(), dir, options);
    Server server;
    try {
      server =
          new Server(
              engine,
              dir,
              tok,
              new Server.Options(
                  host,
                  port,
                  id,
                  maxBatch,
                  queue,
                  maxBody,
                  key,
                  batchInvariant,
                  allowUnknownFields));
    } catch (RuntimeException e) {
      engine.close();
      tok.close();
      throw e;
    }
    spec.commandLine()
        .getErr()
        .printf(
            "tokendrift serve: %s on http://%s:%d/v1 (%s mode, max batch %d, %s)%n",
            id,
            host,
            server.port(),
            batchInvariant ? "batch-invariant" : "default, batch-dependent",
            maxBatch,
            server.fingerprint());
    spec.commandLine().getErr().flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  // SIGTERM: no new requests (503), in-flight ones finish, then stop.
                  try {
                    server.drain(30_000);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  server.close();
                  engine.close();
                  tok.close();
                  stopped.countDown();
                }));
    stopped.await();
    return Main.OK;
  }
}
