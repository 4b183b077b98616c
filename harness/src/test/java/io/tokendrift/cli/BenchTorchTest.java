package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.engine.DecodeBenchmark;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.torch.TorchAvailable;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The speed peer of {@code bench --torch-python}: plain PyTorch written independently of our torch
 * worker, checked to compute the model it is timed on (its logits against the DJL engine's), and
 * the rule that refuses a ratio against a reference BLAS.
 */
class BenchTorchTest {
  @TempDir Path dir;

  @Test
  void thePeerComputesTheBundledModelAndReportsItsBlas() throws Exception {
    TorchAvailable.assume();
    ModelDir model = BundledModel.open();
    for (String f : List.of(ModelDir.CONFIG, ModelDir.WEIGHTS)) {
      Files.copy(model.dir().resolve(f), dir.resolve(f));
    }
    BenchTorch.Peer peer = new BenchTorch(TorchAvailable.PYTHON, 1, 8).peer(dir);
    assertThat(peer.tokensPerSecond()).containsOnlyKeys(1, 8);
    assertThat(peer.tokensPerSecond().values()).allMatch(v -> v > 0);
    assertThat(peer.torch()).isNotBlank();
    assertThat(peer.blasLibrary()).isNotBlank(); // the library torch loaded, or "none loaded"
    float[] ours;
    try (Engine e = Engines.load(EngineSpec.DEFAULT, model).open(EngineOptions.DEFAULTS)) {
      ours = new DecodeBenchmark(e).firstLogits(16);
    }
    assertThat(peer.firstTop5()).hasSize(5);
    for (double[] t : peer.firstTop5()) {
      // float32 in two implementations (DJL and PyTorch): agreement to 1e-4 of a logit.
      assertThat(Math.abs(ours[(int) t[0]] - t[1])).isLessThan(1e-4);
    }
  }

  private static BenchTorch.Peer peer(String blasInfo, String library) {
    return new BenchTorch.Peer("1.13", blasInfo, library, "AVX2", Map.of(), Map.of(), List.of());
  }

  @Test
  void aRatioAgainstTheReferenceBlasIsRefused() {
    // Debian's torch: built for the generic interface; which library serves it is the alternative.
    assertThat(peer("generic", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0").referenceBlas())
        .isTrue();
    assertThat(peer("generic", "none loaded").referenceBlas()).isTrue();
    assertThat(
            peer(
                    "generic",
                    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3,"
                        + " /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so")
                .referenceBlas())
        .isFalse();
    // A wheel built against MKL or OpenBLAS directly says so in its build settings.
    assertThat(peer("mkl", "none loaded").referenceBlas()).isFalse();
    assertThat(peer("open", "none loaded").referenceBlas()).isFalse();
  }
}
