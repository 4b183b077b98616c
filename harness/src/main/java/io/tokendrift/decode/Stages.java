package io.tokendrift.decode;

/**
 * Every intermediate distribution of the pipeline for one logit vector, for people learning or
 * debugging sampling. Each array is indexed by token id; a filtered token has probability 0.
 *
 * @param logits the raw logits
 * @param afterTemperature softmax(logits / T) over the whole vocabulary (one-hot argmax at T = 0)
 * @param afterTopK renormalised over the top-k survivors
 * @param afterTopP renormalised over the tokens kept by top-p: the distribution that is sampled
 */
public record Stages(
    float[] logits, double[] afterTemperature, double[] afterTopK, double[] afterTopP) {

  /** Computes the stages with exactly the functions the sampler uses. */
  public static Stages of(float[] logits, SamplingSettings s) {
    Logits.check(logits, 0);
    int n = logits.length;
    if (s.greedy()) {
      double[] oneHot = new double[n];
      oneHot[Logits.argmax(logits)] = 1;
      return new Stages(logits.clone(), oneHot, oneHot.clone(), oneHot.clone());
    }
    float[] scaled = Pipeline.scale(logits, s.temperature());
    int[] all = Pipeline.topK(scaled, 0);
    double[] temperature = spread(n, all, Pipeline.softmax(scaled, all));
    int[] survivors = Pipeline.topK(scaled, s.topK());
    double[] survivorProbs = Pipeline.softmax(scaled, survivors);
    double[] topK = spread(n, survivors, survivorProbs);
    Kept kept = Pipeline.filter(logits, s);
    return new Stages(logits.clone(), temperature, topK, spread(n, kept.ids(), kept.probs()));
  }

  private static double[] spread(int n, int[] ids, double[] probs) {
    double[] out = new double[n];
    for (int i = 0; i < ids.length; i++) {
      out[ids[i]] = probs[i];
    }
    return out;
  }
}
