package io.tokendrift.engine;

import java.util.EnumSet;
import java.util.Set;

/**
 * What an engine offers.
 *
 * @param name short engine name, e.g. {@code djl-gpt2}
 * @param vocabSize length of every logit vector
 * @param contextLength the most tokens a row may hold
 * @param fullLogits true when every step returns the whole vocabulary's logits (an HTTP provider
 *     returns only the top few logprobs)
 * @param axes the conditions this engine can vary; the others stay at their defaults
 * @param maxBatch the most rows one batch may hold
 */
public record Capabilities(
    String name,
    int vocabSize,
    int contextLength,
    boolean fullLogits,
    Set<Axis> axes,
    int maxBatch) {

  /** Every local axis: an engine that computes logits itself can change all of them. */
  public static final Set<Axis> ALL_AXES = Set.copyOf(Axis.LOCAL);

  public Capabilities {
    axes = axes.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(axes));
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch (" + maxBatch + ") must be >= 1");
    }
  }
}
