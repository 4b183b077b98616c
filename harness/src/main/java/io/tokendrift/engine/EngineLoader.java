package io.tokendrift.engine;

/**
 * A model loaded once for one engine kind, from which engines are opened for each set of options
 * (an experiment opens one per point of its grid; the weights are read only once).
 */
@FunctionalInterface
public interface EngineLoader {
  /**
   * Opens an engine with these options.
   *
   * @throws EnvironmentException when the machine cannot run them (e.g. no GPU)
   */
  Engine open(EngineOptions options);
}
