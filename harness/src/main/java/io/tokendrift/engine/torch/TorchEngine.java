package io.tokendrift.engine.torch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.engine.Axis;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Capabilities;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.engine.PromptRule;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.ModelFormatException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A model folder's forward pass in the PyTorch the machine has, through a {@link Worker}. The Java
 * side keeps the tokenizer, sampling, draws, stops and traces, so a run on this engine and one on
 * DJL differ only in the forward pass. A worker that dies or stops answering fails the batch it was
 * running (with the tail of its stderr); the next batch starts a new worker.
 */
final class TorchEngine implements Engine {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What this engine varies: summation orders are DJL's own linear layers, not torch's. */
  static final Set<Axis> AXES =
      Set.copyOf(
          EnumSet.of(
              Axis.DEVICE,
              Axis.BATCH_SIZE,
              Axis.BATCH_POSITION,
              Axis.PRECISION,
              Axis.THREADS,
              Axis.BATCH_INVARIANT,
              Axis.KV_CACHE));

  private final ModelDir dir;
  private final TorchOptions torch;
  private final EngineOptions options;
  private Worker worker;
  private JsonNode hello;
  private JsonNode loaded;
  private int nextBatch;

  TorchEngine(ModelDir dir, TorchOptions torch, EngineOptions options) {
    if (!options.summation().isNative()) {
      throw new IllegalArgumentException(
          "engine torch runs torch's own matmuls; summation orders other than native are DJL's");
    }
    this.dir = dir;
    this.torch = torch;
    this.options = options;
    ensureWorker();
  }

  /** A live worker with the model loaded: the old one, or a new one after a crash or timeout. */
  private Worker ensureWorker() {
    if (worker != null && worker.alive()) {
      return worker;
    }
    if (worker != null) {
      worker.close();
    }
    worker = Worker.start(torch.python(), torch.env(), Math.min(torch.timeoutSeconds(), 120));
    hello = worker.call(JSON.createObjectNode().put("op", "hello"), null, 60).header();
    ObjectNode load = JSON.createObjectNode();
    load.put("op", "load");
    load.put("dir", dir.dir().toAbsolutePath().toString());
    load.put("device", torch.deviceFor(options.device()));
    load.put("dtype", options.precision().label());
    load.put("threads", options.threads());
    load.put("tf32", torch.tf32());
    load.put("deterministic", torch.deterministic());
    load.put("attention", torch.attention());
    load.put("batch_invariant", options.batchInvariant());
    try {
      loaded = worker.call(load, null, torch.timeoutSeconds()).header();
    } catch (Worker.WorkerException e) {
      worker.close();
      worker = null;
      if (e.kind.equals("model")) {
        throw new ModelFormatException(
            dir.dir() + ": the torch worker cannot load it: " + e.getMessage());
      }
      if (e.kind.equals("unsupported")) {
        throw new EnvironmentException("engine torch: " + e.getMessage());
      }
      throw new EnvironmentException(
          "engine torch: loading " + dir.dir() + " failed: " + e.getMessage());
    }
    if (loaded.path("vocab").asInt() != dir.config().vocabSize()) {
      throw new ModelFormatException(
          dir.dir()
              + ": the torch worker reads a vocabulary of "
              + loaded.path("vocab").asInt()
              + ", config.json says "
              + dir.config().vocabSize());
    }
    return worker;
  }

  /** The current worker's process id (tests stop it to check the engine recovers). */
  long workerPid() {
    return worker == null ? -1 : worker.pid();
  }

  @Override
  public Capabilities capabilities() {
    return new Capabilities(
        "torch-" + dir.config().modelType(),
        dir.config().vocabSize(),
        dir.config().contextLength(),
        true,
        AXES,
        TorchEngineProvider.MAX_BATCH);
  }

  @Override
  public Batch start(List<int[]> prompts) {
    return start(prompts, false);
  }

  @Override
  public Batch restart(List<int[]> sequences) {
    return start(sequences, true);
  }

  /** A batch of {@code prompts}; with {@code full}, a sequence may fill the context. */
  private Batch start(List<int[]> prompts, boolean full) {
    PromptRule.check(prompts, 0, dir.config(), full);
    Worker w = ensureWorker();
    int id = nextBatch++;
    ObjectNode h = JSON.createObjectNode();
    h.put("op", "start");
    h.put("batch", id);
    ArrayNode rows = h.putArray("prompts");
    for (int[] p : prompts) {
      ArrayNode r = rows.addArray();
      for (int t : p) {
        r.add(t);
      }
    }
    return new TorchBatch(this, w, id, prompts, call(w, h));
  }

  /** A call whose failure names what the worker said; a dead or stuck worker is replaced later. */
  float[][] call(Worker w, ObjectNode h) {
    Worker.Reply r;
    try {
      r = w.call(h, null, torch.timeoutSeconds());
    } catch (Worker.WorkerException e) {
      String what =
          switch (e.kind) {
            case "oom" -> "the GPU ran out of memory: ";
            case "died", "timeout" -> "";
            default -> "the torch worker refused it (" + e.kind + "): ";
          };
      throw new IllegalStateException(what + e.getMessage(), e);
    }
    int rows = r.header().path("rows").asInt();
    int vocab = r.header().path("vocab").asInt();
    ByteBuffer p = r.payload();
    if (p.remaining() != rows * vocab * 4) {
      throw new IllegalStateException(
          "the torch worker sent "
              + p.remaining()
              + " bytes for "
              + rows
              + " x "
              + vocab
              + " logits");
    }
    float[][] out = new float[rows][vocab];
    for (int b = 0; b < rows; b++) {
      p.asFloatBuffer().position(b * vocab).get(out[b]);
    }
    return out;
  }

  TorchOptions torch() {
    return torch;
  }

  @Override
  public Map<String, String> settings() {
    Map<String, String> m = new TreeMap<>();
    m.put("engine", "torch-" + dir.config().modelType());
    m.put("device", options.device().toString());
    m.put("torch.device", torch.deviceFor(options.device()));
    m.put("precision", options.precision().label());
    m.put("summation", SummationOrder.NATIVE.toString());
    m.put(
        "threads.requested",
        options.threads() == 0 ? "default" : Integer.toString(options.threads()));
    m.put("batch_invariant", Boolean.toString(options.batchInvariant()));
    m.put("torch.version", hello.path("torch").asText());
    m.put("torch.cuda", hello.path("cuda").asText("none"));
    m.put("torch.hip", hello.path("hip").asText("none"));
    m.put("python", torch.python() + " " + hello.path("python").asText());
    m.put("gpu.name", loaded.path("device_name").asText());
    JsonNode s = loaded.path("settings");
    m.put("threads", s.path("threads").asText());
    m.put("interop_threads", "n/a");
    m.put("torch.tf32", s.path("tf32").asText());
    m.put("torch.deterministic", s.path("deterministic").asText());
    m.put("torch.attention", s.path("attention").asText());
    m.put("torch.cublas_workspace_config", s.path("cublas_workspace_config").asText());
    m.put("torch.cudnn", s.path("cudnn").asText());
    m.put("gpu.driver", s.path("driver").asText());
    m.put("model_type", dir.config().modelType());
    return m;
  }

  @Override
  public void close() {
    if (worker != null) {
      worker.close();
      worker = null;
    }
  }
}
