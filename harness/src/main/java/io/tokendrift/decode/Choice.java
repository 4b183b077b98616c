package io.tokendrift.decode;

/**
 * The token one step chose and how close the choice came to going another way.
 *
 * @param token the chosen token id
 * @param method the draw method, or null for greedy
 * @param draw the uniform number used (inverse-CDF), NaN for greedy and Gumbel
 * @param drawMargin how far the draw was from changing the outcome: for inverse-CDF the distance
 *     from u to the nearest boundary of the chosen token's CDF cell; for Gumbel the gap between the
 *     two best perturbed scores (Infinity when one token was kept); NaN for greedy
 * @param kept how many tokens survived the filters (1 for greedy)
 * @param probability the chosen token's probability in the kept distribution (1 for greedy)
 */
public record Choice(
    int token, DrawMethod method, double draw, double drawMargin, int kept, double probability) {

  /** A greedy choice. */
  public static Choice greedy(int token) {
    return new Choice(token, null, Double.NaN, Double.NaN, 1, 1.0);
  }

  /** True when the token was drawn rather than taken as the argmax. */
  public boolean sampled() {
    return method != null;
  }
}
