package io.tokendrift.tiny;

import io.tokendrift.decode.Logits;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Engine;
import io.tokendrift.model.TextTokenizer;
import java.util.Arrays;
import java.util.List;

/** Measures a model's next-token distribution at a planted near-tie. */
public final class NearTieProbe {
  private NearTieProbe() {}

  /**
   * The model's view of one near-tie.
   *
   * @param firstTokens per alternative, the id of its first token
   * @param probabilities per alternative, the model's probability of that first token
   * @param top the two most probable ids (ties to the lower id)
   * @param topProbabilities their probabilities
   */
  public record Measurement(
      int[] firstTokens, double[] probabilities, int[] top, double[] topProbabilities) {

    /** True when the two most probable tokens are the first tokens of two alternatives. */
    public boolean topTwoAreAlternatives() {
      List<Integer> firsts = Arrays.stream(firstTokens).boxed().toList();
      return firsts.contains(top[0]) && firsts.contains(top[1]);
    }
  }

  /** Runs the prefix through the engine (a batch of one) and reads the next-token softmax. */
  public static Measurement measure(Engine engine, TextTokenizer tok, NearTie tie) {
    int[] prompt = tok.encode(tie.prefix());
    int[] first = new int[tie.alternatives().size()];
    for (int i = 0; i < first.length; i++) {
      // The alternative's first token in context: the ids after the prefix's own.
      String text = tie.alternatives().get(i).text();
      int[] full = tok.encode(tie.prefix() + text);
      if (full.length <= prompt.length
          || !Arrays.equals(Arrays.copyOf(full, prompt.length), prompt)) {
        throw new IllegalStateException(
            tie.id() + ": '" + text + "' does not tokenize as a continuation of the prefix");
      }
      first[i] = full[prompt.length];
    }
    float[] logits;
    try (Batch b = engine.start(List.of(prompt))) {
      logits = b.logits(0);
    }
    double[] p = softmax(logits);
    double[] probs = new double[first.length];
    for (int i = 0; i < first.length; i++) {
      probs[i] = p[first[i]];
    }
    int top1 = Logits.argmax(logits);
    int top2 = -1;
    for (int i = 0; i < p.length; i++) {
      if (i != top1 && (top2 < 0 || logits[i] > logits[top2])) {
        top2 = i;
      }
    }
    return new Measurement(first, probs, new int[] {top1, top2}, new double[] {p[top1], p[top2]});
  }

  static double[] softmax(float[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : logits) {
      max = Math.max(max, v);
    }
    double sum = 0;
    double[] p = new double[logits.length];
    for (int i = 0; i < p.length; i++) {
      p[i] = Math.exp(logits[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
    }
    return p;
  }
}
