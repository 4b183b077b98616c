package io.tokendrift.decode;

import static io.tokendrift.decode.Require.require;

/**
 * Everything that decides which tokens a run produces, given its logits.
 *
 * @param sampling the pipeline settings
 * @param stop the stop conditions
 * @param seed the sampling seed (the Philox key)
 */
public record DecodeSettings(SamplingSettings sampling, StopConditions stop, long seed) {
  public DecodeSettings {
    require(sampling != null, "sampling settings must not be null");
    require(stop != null, "stop conditions must not be null");
  }
}
