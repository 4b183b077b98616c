package io.tokendrift.engine;

import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import java.util.Set;

/**
 * A second engine kind, registered for the tests only (src/test/resources/META-INF/services), that
 * can vary batch size and position alone and runs at most 4 rows: what an HTTP provider will look
 * like. It exists to test that specs and flags are checked against an engine's capabilities; it
 * runs nothing.
 */
public final class FixedAxesTestProvider implements EngineProvider {
  public static final String KIND = "fixed-test";

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public Set<Axis> axes() {
    return Set.of(Axis.BATCH_SIZE, Axis.BATCH_POSITION);
  }

  @Override
  public int maxBatch() {
    return 4;
  }

  @Override
  public Set<String> optionKeys() {
    return Set.of("url");
  }

  @Override
  public int gpuCount() {
    return 0;
  }

  @Override
  public EngineLoader load(EngineSpec spec, ModelDir model) {
    throw new IllegalArgumentException("engine '" + KIND + "' runs no model (a test fixture)");
  }

  @Override
  public EngineLoader load(EngineSpec spec, Gpt2Weights weights) {
    return load(spec, (ModelDir) null);
  }
}
