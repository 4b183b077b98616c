package io.tokendrift.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Copies of the bundled model with one weight matrix perturbed, for drift tests. */
public final class PerturbedModels {
  /** The perturbed matrix: the first block's MLP input projection (128 × 512). */
  public static final String MLP_MATRIX = "transformer.h.0.mlp.c_fc.weight";

  private PerturbedModels() {}

  /**
   * A copy of the bundled model in {@code out} whose {@link #MLP_MATRIX} has every weight w
   * replaced by w × (1 + relative × g), g standard normal from a fixed seed.
   */
  public static Path mlpNoise(Path out, double relative) throws Exception {
    Files.createDirectories(out);
    Path b = BundledModel.dir();
    for (String f : List.of("config.json", "tokenizer.json")) {
      Files.copy(b.resolve(f), out.resolve(f));
    }
    Map<String, Tensor> t = Safetensors.read(b.resolve("model.safetensors"));
    Tensor w = t.get(MLP_MATRIX);
    float[] v = w.data().clone();
    Random g = new Random(15);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] * (1 + relative * g.nextGaussian()));
    }
    t.put(w.name(), new Tensor(w.name(), w.shape(), v));
    Safetensors.write(out.resolve("model.safetensors"), t.values(), Map.of("format", "pt"));
    return out;
  }
}
