package io.tokendrift.engine.djl;

import io.tokendrift.engine.Axis;
import io.tokendrift.engine.Capabilities;
import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import java.util.Set;

/**
 * The built-in engine, {@code djl}: GPT-2 and Llama-family (llama, mistral, qwen2, qwen3) forward
 * passes on DJL's PyTorch, which compute every logit themselves and so can vary every axis.
 */
public final class DjlEngineProvider implements EngineProvider {
  static {
    io.tokendrift.model.Offline.ensure(); // before DJL's engine first loads
  }

  /** Rows per batch: the spec reader's own limit on batch sizes. */
  static final int MAX_BATCH = 256;

  @Override
  public String kind() {
    return "djl";
  }

  @Override
  public Set<Axis> axes() {
    return Capabilities.ALL_AXES;
  }

  @Override
  public java.util.Set<io.tokendrift.engine.Precision> precisions() {
    return java.util.EnumSet.of(
        io.tokendrift.engine.Precision.FP32,
        io.tokendrift.engine.Precision.FP16,
        io.tokendrift.engine.Precision.FP64);
  }

  @Override
  public String precisionNote(io.tokendrift.engine.Precision p) {
    return p == io.tokendrift.engine.Precision.BF16 ? "bf16 aborts DJL 0.36's JVM" : "";
  }

  @Override
  public int maxBatch() {
    return MAX_BATCH;
  }

  @Override
  public Set<String> optionKeys() {
    return Set.of();
  }

  @Override
  public int gpuCount() {
    return ai.djl.engine.Engine.getEngine("PyTorch").getGpuCount();
  }

  @Override
  public EngineLoader load(EngineSpec spec, ModelDir model) {
    if (model.config() instanceof io.tokendrift.model.LlamaConfig) {
      io.tokendrift.model.LlamaWeights w = model.llamaWeights();
      return options -> new DjlEngine(w, options);
    }
    return load(spec, model.weights());
  }

  @Override
  public EngineLoader load(EngineSpec spec, io.tokendrift.model.LlamaWeights weights) {
    return options -> new DjlEngine(weights, options);
  }

  @Override
  public EngineLoader load(EngineSpec spec, Gpt2Weights weights) {
    return options -> new DjlEngine(weights, options);
  }
}
