package io.tokendrift.engine.torch;

import io.tokendrift.engine.Axis;
import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The {@code torch} engine: the forward pass in the PyTorch already installed (any version, CUDA,
 * ROCm or CPU), run by a Python worker the jar ships; the GPU axis and bf16 that DJL cannot give.
 */
public final class TorchEngineProvider implements EngineProvider {
  static final int MAX_BATCH = 256;

  private static final Map<String, Integer> GPUS = new HashMap<>();

  @Override
  public String kind() {
    return "torch";
  }

  @Override
  public Set<Axis> axes() {
    return TorchEngine.AXES;
  }

  @Override
  public Set<Precision> precisions() {
    return EnumSet.of(Precision.FP32, Precision.FP16, Precision.BF16);
  }

  @Override
  public String precisionNote(Precision p) {
    return p == Precision.FP64 ? "fp64 is the DJL engine's, on CPU (engine djl)" : "";
  }

  @Override
  public int maxBatch() {
    return MAX_BATCH;
  }

  @Override
  public Set<String> optionKeys() {
    return TorchOptions.KEYS;
  }

  @Override
  public void checkOptions(EngineSpec spec) {
    TorchOptions.of(spec);
  }

  /** GPUs the default interpreter's torch sees (a worker is started once to ask). */
  @Override
  public int gpuCount() {
    return gpuCount(TorchOptions.of(new EngineSpec("torch", Map.of())));
  }

  @Override
  public int gpuCount(EngineSpec spec) {
    return gpuCount(TorchOptions.of(spec));
  }

  static synchronized int gpuCount(TorchOptions o) {
    Integer n = GPUS.get(o.python());
    if (n == null) {
      try (Worker w = Worker.start(o.python(), o.env(), 120)) {
        n =
            w.call(
                    new com.fasterxml.jackson.databind.ObjectMapper()
                        .createObjectNode()
                        .put("op", "hello"),
                    null,
                    60)
                .header()
                .path("devices")
                .asInt();
      }
      GPUS.put(o.python(), n);
    }
    return n;
  }

  @Override
  public EngineLoader load(EngineSpec spec, ModelDir model) {
    TorchOptions o = TorchOptions.of(spec);
    return options -> new TorchEngine(model, o, options);
  }

  @Override
  public EngineLoader load(EngineSpec spec, Gpt2Weights weights) {
    throw new IllegalArgumentException(
        "engine 'torch' runs model folders (the worker reads their safetensors); weights held in"
            + " memory run on engine djl");
  }
}
