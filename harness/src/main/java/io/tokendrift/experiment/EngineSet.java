package io.tokendrift.experiment;

import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.ModelDir;
import io.tokendrift.spec.ExperimentSpec;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The engines a spec's points run on, loaded for {@code dir}: the spec's engine (under the name
 * null), or each of {@code axes.engine}'s under its name, with the devices each lacks. A device the
 * spec needs and this machine lacks is refused here, before the trace exists.
 */
record EngineSet(Map<String, EngineLoader> loaders, Map<String, Set<String>> unavailable) {
  static EngineSet of(ExperimentSpec spec, ModelDir dir) {
    Map<String, EngineLoader> loaders = new LinkedHashMap<>();
    Map<String, Set<String>> unavailable = new HashMap<>();
    if (spec.axes().engines().isEmpty()) {
      EngineProvider p = Engines.check(spec.engine());
      unavailable.put(null, Devices.unavailable(spec, p));
      loaders.put(null, p.load(spec.engine(), dir));
    } else {
      for (ExperimentSpec.NamedEngine e : spec.axes().engines()) {
        EngineProvider p = Engines.check(e.spec());
        unavailable.put(e.name(), Devices.unavailable(spec, e.spec(), p));
        loaders.put(e.name(), p.load(e.spec(), dir));
      }
    }
    return new EngineSet(loaders, unavailable);
  }
}
