package io.tokendrift.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Seeded random GPT-2 checkpoints for tests, written in Hugging Face layout. */
public final class TestCheckpoints {
  private TestCheckpoints() {}

  /** vocab 97, context 64, width 32, 2 layers, 4 heads. */
  public static final Gpt2Config TINY = new Gpt2Config(97, 64, 32, 2, 4, 128, 1e-5, true, 0);

  /**
   * Random weights: N(0, 0.3) matrices and embeddings, N(1, 0.1) LayerNorm gains, N(0, 0.1) biases.
   */
  public static Map<String, Tensor> randomTensors(Gpt2Config c, long seed, String prefix) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : Gpt2Weights.expectedShapes(c)) {
      String name = e.getKey();
      float[] v = new float[(int) Tensor.elementCount(e.getValue())];
      boolean gain = name.contains("ln_") && name.endsWith("weight");
      boolean bias = name.endsWith("bias");
      for (int i = 0; i < v.length; i++) {
        double g = rnd.nextGaussian();
        v[i] = (float) (gain ? 1 + 0.1 * g : bias ? 0.1 * g : 0.3 * g);
      }
      out.put(prefix + name, new Tensor(prefix + name, e.getValue(), v));
    }
    return out;
  }

  public static Gpt2Weights random(Gpt2Config c, long seed) {
    return Gpt2Weights.of(randomTensors(c, seed, ""), c, Path.of("<random>"));
  }

  /** Writes config.json and model.safetensors into {@code dir}. */
  public static Path write(Path dir, Gpt2Config c, long seed, String prefix) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), c.toJson());
    Safetensors.write(
        dir.resolve("model.safetensors"),
        randomTensors(c, seed, prefix).values(),
        Map.of("format", "pt"));
    return dir;
  }
}
