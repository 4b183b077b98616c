package io.tokendrift.experiment;

import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineOptions;

/**
 * The runner's engine for the current batch: reused while consecutive batches share their options
 * (the plan groups them so), closed and replaced when the options change.
 */
final class OpenEngine implements AutoCloseable {
  private final EngineLoader loader;
  private EngineOptions current;
  private Engine engine;

  OpenEngine(EngineLoader loader) {
    this.loader = loader;
  }

  /** The engine for {@code options}, opened if the last one had other options. */
  Engine with(EngineOptions options) {
    if (!options.equals(current)) {
      close();
      engine = loader.open(options);
      current = options;
    }
    return engine;
  }

  @Override
  public void close() {
    if (engine != null) {
      Engine e = engine;
      engine = null;
      current = null;
      e.close();
    }
  }
}
