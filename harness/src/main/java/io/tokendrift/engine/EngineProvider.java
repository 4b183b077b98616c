package io.tokendrift.engine;

import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import java.util.Set;

/**
 * One kind of engine, found with {@link java.util.ServiceLoader} (as DJL finds its own engines):
 * implementations are listed in {@code META-INF/services/io.tokendrift.engine.EngineProvider}.
 * Callers never construct engines; they ask {@link Engines}.
 */
public interface EngineProvider {
  /** The name specs and flags use, e.g. {@code djl}. */
  String kind();

  /** The conditions this kind of engine can vary; a spec varying any other is refused. */
  Set<Axis> axes();

  /** The most rows one batch may hold. */
  int maxBatch();

  /** The option keys {@link EngineSpec#options()} may hold for this kind (empty: none). */
  Set<String> optionKeys();

  /** How many GPUs this engine can see on this machine (0 when none). */
  int gpuCount();

  /**
   * Loads the model of a Hugging Face folder.
   *
   * @throws IllegalArgumentException when the folder is not a model this engine can run
   */
  EngineLoader load(EngineSpec spec, ModelDir model);

  /**
   * Loads weights already in memory (e.g. a seeded random checkpoint for benchmarks).
   *
   * @throws IllegalArgumentException when this engine does not run local weights
   */
  EngineLoader load(EngineSpec spec, Gpt2Weights weights);
}
