package io.tokendrift.engine.torch;

import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineConformanceTest;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.BundledModel;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The torch engine keeps the contract every engine keeps, with a real worker on this machine's
 * PyTorch over the bundled model; skipped, with the reason, where no Python with torch is present.
 */
@Tag("numerics")
class TorchConformanceTest extends EngineConformanceTest {
  @BeforeAll
  static void needsTorch() throws Exception {
    TorchAvailable.assume();
  }

  @Override
  protected Engine newEngine() {
    return Engines.open(
        new EngineSpec("torch", Map.of("python", TorchAvailable.PYTHON)),
        BundledModel.open(),
        EngineOptions.DEFAULTS);
  }
}
