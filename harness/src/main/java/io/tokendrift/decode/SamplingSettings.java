package io.tokendrift.decode;

import static io.tokendrift.decode.Require.require;

/**
 * The seed's sampling pipeline settings: temperature, then top-k, then top-p, then the draw.
 *
 * @param temperature 0 for greedy decoding, else the divisor of the logits
 * @param topK keep tokens whose scaled logit is not below the k-th largest; 0 disables, a k above
 *     the vocabulary size is clamped
 * @param topP nucleus mass in (0, 1]; 1 disables
 * @param method how the token is drawn from the kept distribution
 */
public record SamplingSettings(double temperature, int topK, double topP, DrawMethod method) {
  /**
   * The smallest positive temperature: the pipeline divides float32 logits by T as PyTorch does,
   * and below this a logit of a few hundred overflows float32 (3.4e38) into infinities and NaN
   * probabilities. Any T this small is greedy decoding in all but name.
   */
  public static final double MIN_TEMPERATURE = 1e-30;

  /** Greedy decoding: argmax, lowest id on a tie. */
  public static final SamplingSettings GREEDY =
      new SamplingSettings(0, 0, 1.0, DrawMethod.INVERSE_CDF);

  public SamplingSettings {
    require(
        !Double.isNaN(temperature) && temperature >= 0 && temperature != Double.POSITIVE_INFINITY,
        "temperature (" + temperature + ") must be a finite number >= 0 (0 means greedy)");
    require(
        temperature == 0 || temperature >= MIN_TEMPERATURE,
        "temperature ("
            + temperature
            + ") must be 0 (greedy) or at least "
            + MIN_TEMPERATURE
            + ": logits / T in float32 overflow below it");
    require(topK >= 0, "top_k (" + topK + ") must be >= 0 (0 disables)");
    require(topP > 0 && topP <= 1, "top_p (" + topP + ") must be in (0, 1] (1 disables)");
    require(method != null, "method must be one of INVERSE_CDF, GUMBEL");
  }

  /** Sampling with the inverse-CDF draw. */
  public static SamplingSettings of(double temperature, int topK, double topP) {
    return new SamplingSettings(temperature, topK, topP, DrawMethod.INVERSE_CDF);
  }

  /** True at temperature 0, where the pipeline is argmax and no draw is used. */
  public boolean greedy() {
    return temperature == 0;
  }

  /** The same settings with another draw method. */
  public SamplingSettings withMethod(DrawMethod m) {
    return new SamplingSettings(temperature, topK, topP, m);
  }
}
