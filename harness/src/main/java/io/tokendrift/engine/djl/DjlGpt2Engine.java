package io.tokendrift.engine.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Capabilities;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.engine.Precision;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A GPT-2-family decoder on DJL's PyTorch engine: pre-norm blocks, tanh GELU, causal attention with
 * a KV cache, left-padded batches, tied LM head, and every knob of {@link EngineOptions}.
 */
public final class DjlGpt2Engine implements Engine {
  final Gpt2Config config;
  final EngineOptions options;
  final NDManager manager;
  final DataType dtype;
  final NDArray wte; // [V, C]
  final NDArray wpe; // [P, C]
  final List<Block> blocks = new ArrayList<>();
  final NDArray lnFw;
  final NDArray lnFb;
  final Linear lmHead; // wte^T as [C, V]

  /** The weights of one transformer block. */
  record Block(
      NDArray ln1w,
      NDArray ln1b,
      Linear attn,
      Linear proj,
      NDArray ln2w,
      NDArray ln2b,
      Linear fc,
      Linear out) {}

  /**
   * Loads {@code weights} onto the device of {@code options}.
   *
   * @throws EnvironmentException when a GPU is asked for and none is present
   */
  public DjlGpt2Engine(Gpt2Weights weights, EngineOptions options) {
    this.config = weights.config();
    this.options = options;
    Device device = device(options);
    this.manager = NDManager.newBaseManager(device);
    this.dtype = options.precision() == Precision.FP16 ? DataType.FLOAT16 : DataType.FLOAT32;
    applyThreads();
    try {
      wte = load(weights.get("wte.weight"));
      wpe = load(weights.get("wpe.weight"));
      for (int i = 0; i < config.layers(); i++) {
        String h = "h." + i + ".";
        blocks.add(
            new Block(
                load(weights.get(h + "ln_1.weight")),
                load(weights.get(h + "ln_1.bias")),
                linear(weights, h + "attn.c_attn"),
                linear(weights, h + "attn.c_proj"),
                load(weights.get(h + "ln_2.weight")),
                load(weights.get(h + "ln_2.bias")),
                linear(weights, h + "mlp.c_fc"),
                linear(weights, h + "mlp.c_proj")));
      }
      lnFw = load(weights.get("ln_f.weight"));
      lnFb = load(weights.get("ln_f.bias"));
      // The LM head is tied to wte; transposed once into [C, V] so it is a linear layer like the
      // others.
      lmHead = new Linear(wte.transpose().duplicate(), null, options.summation());
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
              + " GPU(s) visible to PyTorch; use --device cpu or run on a GPU machine"
              + " (see README: GPU profile)");
    }
    return Device.gpu(o.device().index());
  }

  private NDArray load(Tensor t) {
    NDArray a = manager.create(t.data(), new Shape(t.shape()));
    return dtype == DataType.FLOAT32 ? a : a.toType(dtype, false);
  }

  private Linear linear(Gpt2Weights w, String name) {
    return new Linear(
        load(w.get(name + ".weight")), load(w.get(name + ".bias")), options.summation());
  }

  /** Sets PyTorch's intra-op threads when the options name a count (a process-wide setting). */
  void applyThreads() {
    if (options.threads() > 0 && JniUtils.getNumThreads() != options.threads()) {
      JniUtils.setNumThreads(options.threads());
    }
  }

  @Override
  public Capabilities capabilities() {
    return new Capabilities("djl-gpt2", config.vocabSize(), config.contextLength(), true);
  }

  @Override
  public Batch start(List<int[]> prompts) {
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one prompt");
    }
    for (int i = 0; i < prompts.size(); i++) {
      int[] p = prompts.get(i);
      if (p.length == 0) {
        throw new IllegalArgumentException(
            "prompt of row " + i + " is empty; it needs at least one token");
      }
      if (p.length >= config.contextLength()) {
        throw new IllegalArgumentException(
            "prompt of row "
                + i
                + " has "
                + p.length
                + " tokens; the model's context holds "
                + config.contextLength()
                + " (n_positions), and at least one more is needed to generate");
      }
      for (int j = 0; j < p.length; j++) {
        if (p[j] < 0 || p[j] >= config.vocabSize()) {
          throw new IllegalArgumentException(
              "prompt of row "
                  + i
                  + ", position "
                  + j
                  + ": token id "
                  + p[j]
                  + " is outside the vocabulary [0, "
                  + config.vocabSize()
                  + ")");
        }
      }
    }
    if (options.batchInvariant() && prompts.size() > 1) {
      return new PerRowBatch(this, prompts);
    }
    return new DjlBatch(this, prompts);
  }

  @Override
  public Map<String, String> settings() {
    Map<String, String> m = new TreeMap<>();
    m.put("engine", "djl-gpt2");
    m.put("device", options.device().toString());
    m.put("precision", options.precision().label());
    m.put("summation", options.summation().toString());
    m.put("threads", Integer.toString(JniUtils.getNumThreads()));
    m.put(
        "threads.requested",
        options.threads() == 0 ? "default" : Integer.toString(options.threads()));
    m.put("interop_threads", Integer.toString(JniUtils.getNumInteropThreads()));
    m.put("batch_invariant", Boolean.toString(options.batchInvariant()));
    m.put("djl.version", ai.djl.engine.Engine.getDjlVersion());
    m.put("pytorch.version", ai.djl.engine.Engine.getEngine("PyTorch").getVersion());
    m.put("gelu", config.tanhGelu() ? "tanh" : "erf");
    return m;
  }

  @Override
  public void close() {
    manager.close();
  }
}
