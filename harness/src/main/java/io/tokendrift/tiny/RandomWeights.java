package io.tokendrift.tiny;

import io.tokendrift.decode.Philox;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.LlamaConfig;
import io.tokendrift.model.LlamaWeights;
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

  /**
   * SmolLM2-135M's shape (Hugging Face's config of HuggingFaceTB/SmolLM2-135M): a Llama with 30
   * layers of width 576, 9 query and 3 key/value heads of 64, SwiGLU 1,536, vocabulary 49,152, tied
   * head, theta 100,000: 134.5M parameters.
   */
  public static final LlamaConfig SMOLLM2_135M =
      new LlamaConfig(
          LlamaConfig.Family.LLAMA,
          49152,
          576,
          1536,
          30,
          9,
          3,
          64,
          1e-5,
          100_000,
          null,
          8192,
          true,
          false,
          false,
          null,
          1,
          java.util.List.of(2));

  /** Seeded random Llama-family weights: matrices as {@link #of}, RMSNorm gains 1, biases 0. */
  public static LlamaWeights llama(LlamaConfig c, long seed, double std) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    int stream = 0;
    java.util.List<Map.Entry<String, long[]>> shapes =
        new java.util.ArrayList<>(LlamaWeights.expectedShapes(c));
    if (!c.tiedHead()) {
      shapes.add(Map.entry(LlamaWeights.LM_HEAD, new long[] {c.vocabSize(), c.hiddenSize()}));
    }
    for (Map.Entry<String, long[]> e : shapes) {
      String name = e.getKey();
      float[] v = new float[(int) Tensor.elementCount(e.getValue())];
      if (name.endsWith("norm.weight")) {
        java.util.Arrays.fill(v, 1f);
      } else if (!name.endsWith("bias")) {
        fillUniform(v, seed, stream, (float) (std * Math.sqrt(3)));
      }
      stream++;
      out.put(name, new Tensor(name, e.getValue(), v));
    }
    return LlamaWeights.of(out, c, Path.of("<random seed " + seed + ">"));
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
