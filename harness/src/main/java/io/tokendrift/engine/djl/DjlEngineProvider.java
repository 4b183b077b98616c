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
 * The built-in engine, {@code djl}: the GPT-2 forward pass on DJL's PyTorch, which computes every
 * logit itself and so can vary every axis.
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
    return load(spec, model.weights());
  }

  @Override
  public EngineLoader load(EngineSpec spec, Gpt2Weights weights) {
    return options -> new DjlGpt2Engine(weights, options);
  }
}
