package io.tokendrift.tiny;

import io.tokendrift.decode.Philox;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Seeded random GPT-2 weights, drawn from the project's counter-based generator so the same seed
 * gives the same checkpoint anywhere: for benchmarks at real model shapes without shipping real
 * weights.
 */
public final class RandomWeights {
  private RandomWeights() {}

  /** GPT-2 small's shape: 124M parameters. */
  public static final Gpt2Config GPT2_SMALL =
      new Gpt2Config(50257, 1024, 768, 12, 12, 3072, 1e-5, true, 50256);

  /**
   * Matrices uniform with standard deviation {@code std} (GPT-2 initialises with 0.02), LayerNorm
   * gains 1, biases 0.
   */
  public static Gpt2Weights of(Gpt2Config c, long seed, double std) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    int stream = 0;
    for (Map.Entry<String, long[]> e : Gpt2Weights.expectedShapes(c)) {
      String name = e.getKey();
      float[] v = new float[(int) Tensor.elementCount(e.getValue())];
      if (name.contains("ln_") && name.endsWith("weight")) {
        java.util.Arrays.fill(v, 1f);
      } else if (!name.endsWith("bias")) {
        fillUniform(v, seed, stream, (float) (std * Math.sqrt(3)));
      }
      stream++;
      out.put(name, new Tensor(name, e.getValue(), v));
    }
    return Gpt2Weights.of(out, c, Path.of("<random seed " + seed + ">"));
  }

  /** Uniform in [-a, a): each Philox block gives four 32-bit draws. */
  private static void fillUniform(float[] v, long seed, int stream, float a) {
    for (int i = 0; i < v.length; i += 4) {
      int[] w = Philox.block(i, stream, 0, 0, (int) seed, (int) (seed >>> 32));
      for (int j = 0; j < 4 && i + j < v.length; j++) {
        // Top 24 bits give a float in [0, 1) exactly.
        v[i + j] = a * (2f * ((w[j] >>> 8) * 0x1.0p-24f) - 1f);
      }
    }
  }
}
