package io.tokendrift.engine.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Capabilities;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.PromptRule;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.LlamaWeights;
import io.tokendrift.model.ModelConfig;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A decoder on DJL's PyTorch engine — GPT-2 ({@link Gpt2Graph}) or the Llama family ({@link
 * LlamaGraph}) — with causal attention over a KV cache, left-padded batches, tied or untied LM
 * head, and every knob of {@link EngineOptions}.
 */
public final class DjlEngine implements Engine {
  static {
    io.tokendrift.model.Offline.ensure(); // also when constructed directly (tests, the trainer)
  }

  final ModelConfig config;
  final EngineOptions options;
  final NDManager manager;
  final DataType dtype;
  final DecoderGraph graph;
  final Linear lmHead; // [C, V]
  private final String family; // engine name in capabilities and settings
  private final String selfTest; // batch-invariant mode's self-test result, or null

  /**
   * Loads GPT-2 {@code weights} onto the device of {@code options}.
   *
   * @throws EnvironmentException when a GPU is asked for and none is present
   */
  public DjlEngine(Gpt2Weights weights, EngineOptions options) {
    this(
        weights.config(),
        options,
        "djl-gpt2",
        (m, dtype) -> {
          Gpt2Graph g = Gpt2Graph.forInference(weights, m, dtype, options.summation());
          // The LM head (wte when tied, else lm_head.weight) transposed once into [C, V], so it
          // is a linear layer like the others.
          NDArray head = weights.config().tiedHead() ? g.wte : g.untiedHead(weights);
          g.lmHead(new Linear(head.transpose().duplicate(), null, options.summation()));
          return g;
        });
  }

  /**
   * Loads a Llama-family model's {@code weights} onto the device of {@code options}.
   *
   * @throws EnvironmentException when a GPU is asked for and none is present
   */
  public DjlEngine(LlamaWeights weights, EngineOptions options) {
    this(
        weights.config(),
        options,
        "djl-" + weights.config().modelType(),
        (m, dtype) -> new LlamaGraph(weights, m, dtype, options.summation()));
  }

  private interface GraphFactory {
    DecoderGraph build(NDManager manager, DataType dtype);
  }

  private DjlEngine(
      ModelConfig config, EngineOptions options, String family, GraphFactory factory) {
    if (options.precision() == Precision.BF16) {
      throw new IllegalArgumentException(
          "precision 'bf16' is not supported by the DJL engine: DJL 0.36 aborts the JVM on"
              + " BFLOAT16; allowed: fp32, fp16, fp64 (engine torch computes in bf16)");
    }
    if (options.precision() == Precision.FP64 && options.device().gpu()) {
      throw new IllegalArgumentException(
          "precision 'fp64' runs on the CPU: it is the truth the other points are measured"
              + " against, not a GPU mode; use device cpu for the fp64 point");
    }
    this.config = config;
    this.options = options;
    this.family = family;
    Device device = device(options);
    this.manager = NDManager.newBaseManager(device);
    defaultThreads(); // remember the library's default before any engine changes it
    this.dtype =
        switch (options.precision()) {
          case FP16 -> DataType.FLOAT16;
          case FP64 -> DataType.FLOAT64;
          default -> DataType.FLOAT32;
        };
    applyThreads();
    try {
      graph = factory.build(manager, dtype);
      lmHead = graph.lmHead();
      // Batch-invariant mode checks itself before it is trusted (exit 3 when it cannot hold).
      selfTest = options.batchInvariant() ? InvariantBatch.selfTest(this) : null;
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  private static Device device(EngineOptions o) {
    if (!o.device().gpu()) {
      return Device.cpu();
    }
    int count = ai.djl.engine.Engine.getEngine("PyTorch").getGpuCount();
    if (o.device().index() >= count) {
      throw new EnvironmentException(
          "device "
              + o.device()
              + " was asked for but this machine has "
              + count
              + " GPU(s) visible to PyTorch; use --device cpu, or on a GPU machine the torch engine"
              + " (--engine torch; README section \"GPUs and bf16 — the torch engine\")");
    }
    return Device.gpu(o.device().index());
  }

  private static int defaultThreads = -1;

  /**
   * PyTorch's own thread count, as found before any engine changed it: engines asking for the
   * default get it back even after another engine in this process set a count.
   */
  static synchronized int defaultThreads() {
    if (defaultThreads < 0) {
      defaultThreads = JniUtils.getNumThreads();
    }
    return defaultThreads;
  }

  /** Sets PyTorch's intra-op threads when the options name a count (a process-wide setting). */
  void applyThreads() {
    int want = options.threads() > 0 ? options.threads() : defaultThreads();
    if (JniUtils.getNumThreads() != want) {
      JniUtils.setNumThreads(want);
    }
  }

  @Override
  public Capabilities capabilities() {
    return new Capabilities(
        family,
        config.vocabSize(),
        config.contextLength(),
        true,
        Capabilities.ALL_AXES,
        DjlEngineProvider.MAX_BATCH);
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
    PromptRule.check(prompts, 0, config, full);
    if (options.batchInvariant()) {
      return new InvariantBatch(this, prompts);
    }
    return new DjlBatch(this, prompts);
  }

  @Override
  public Map<String, String> settings() {
    Map<String, String> m = new TreeMap<>();
    m.put("engine", family);
    m.put("device", options.device().toString());
    m.put("precision", options.precision().label());
    m.put("summation", options.summation().toString());
    m.put("threads", Integer.toString(JniUtils.getNumThreads()));
    m.put(
        "threads.requested",
        options.threads() == 0 ? "default" : Integer.toString(options.threads()));
    m.put("interop_threads", Integer.toString(JniUtils.getNumInteropThreads()));
    m.put("batch_invariant", Boolean.toString(options.batchInvariant()));
    if (selfTest != null) {
      m.put("batch_invariant.self_test", selfTest);
    }
    m.put("djl.version", ai.djl.engine.Engine.getDjlVersion());
    m.put("pytorch.version", ai.djl.engine.Engine.getEngine("PyTorch").getVersion());
    if (config instanceof Gpt2Config g) {
      m.put("gelu", g.tanhGelu() ? "tanh" : "erf");
    } else {
      m.put("model_type", config.modelType());
    }
    return m;
  }

  @Override
  public void close() {
    manager.close();
  }
}
