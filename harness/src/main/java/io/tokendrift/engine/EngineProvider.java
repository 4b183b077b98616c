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

  /** The conditions this engine, with these options, can vary (by default {@link #axes()}). */
  default Set<Axis> axes(EngineSpec spec) {
    return axes();
  }

  /**
   * True for a provider reached over HTTP, which samples for itself: the runner sends it whole
   * requests ({@link #openRemote}) instead of running forward passes.
   */
  default boolean remote() {
    return false;
  }

  /**
   * Opens a remote engine.
   *
   * @throws IllegalArgumentException when this kind runs a local model, or an option is wrong
   */
  default RemoteEngine openRemote(EngineSpec spec) {
    throw new IllegalArgumentException("engine '" + kind() + "' runs a local model");
  }

  /**
   * Checks the options' values (the keys are checked against {@link #optionKeys()}).
   *
   * @throws IllegalArgumentException naming the option and what is allowed
   */
  default void checkOptions(EngineSpec spec) {}

  /** The most rows one batch may hold. */
  int maxBatch();

  /** The option keys {@link EngineSpec#options()} may hold for this kind (empty: none). */
  Set<String> optionKeys();

  /** How many GPUs this engine can see on this machine (0 when none). */
  int gpuCount();

  /** How many GPUs this engine, with these options, can see (by default {@link #gpuCount()}). */
  default int gpuCount(EngineSpec spec) {
    return gpuCount();
  }

  /** The precisions this engine computes in (bf16 aborts DJL 0.36's JVM: not there). */
  default Set<Precision> precisions() {
    return java.util.EnumSet.of(Precision.FP32, Precision.FP16);
  }

  /**
   * What more to say when this engine does not compute in {@code p} (e.g. why not, and which engine
   * does), for a refusal; empty when nothing.
   */
  default String precisionNote(Precision p) {
    return "";
  }

  /**
   * A remote engine's settings with its defaults applied: the one place the run loop and the spec
   * reader learn them.
   *
   * @throws IllegalArgumentException when this kind runs a local model, or an option is wrong
   */
  default RemoteSettings remoteSettings(EngineSpec spec) {
    throw new IllegalArgumentException("engine '" + kind() + "' runs a local model");
  }

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

  /**
   * Loads Llama-family weights already in memory (e.g. a seeded random checkpoint for benchmarks).
   *
   * @throws IllegalArgumentException when this engine does not run them
   */
  default EngineLoader load(EngineSpec spec, io.tokendrift.model.LlamaWeights weights) {
    throw new IllegalArgumentException(
        "engine '" + kind() + "' does not run Llama-family weights held in memory");
  }
}
