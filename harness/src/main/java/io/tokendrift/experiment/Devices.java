package io.tokendrift.experiment;

import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.spec.ExperimentSpec;
import java.util.HashSet;
import java.util.Set;

/**
 * The runner's device check, before anything runs: a GPU the spec needs and the machine lacks is an
 * error, or — when the spec marks the device axis optional — a set of points to record as skipped.
 */
final class Devices {
  private Devices() {}

  /**
   * The devices of the spec that this machine lacks (as {@link DeviceSpec#toString()}).
   *
   * @throws EnvironmentException when one is missing and the axis is not optional
   */
  static Set<String> unavailable(ExperimentSpec spec, EngineProvider engine) {
    return unavailable(spec, spec.engine(), engine);
  }

  /** As {@link #unavailable(ExperimentSpec, EngineProvider)}, for engine {@code which}. */
  static Set<String> unavailable(
      ExperimentSpec spec, io.tokendrift.engine.EngineSpec which, EngineProvider engine) {
    int gpus = -1;
    Set<String> out = new HashSet<>();
    for (DeviceSpec d : spec.axes().devices()) {
      if (!d.gpu()) {
        continue;
      }
      if (gpus < 0) {
        gpus = engine.gpuCount(which);
      }
      if (d.index() >= gpus) {
        if (!spec.axes().devicesOptional()) {
          throw new EnvironmentException(
              "the spec asks for device "
                  + d
                  + " but this machine has "
                  + gpus
                  + " GPU(s) visible to PyTorch; mark the device axis optional"
                  + " (axes.device: {values: [...], optional: true}) to skip those points");
        }
        out.add(d.toString());
      }
    }
    return out;
  }
}
