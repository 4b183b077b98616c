package io.tokendrift.decode;

/**
 * The tokens a pipeline kept and their renormalised probabilities.
 *
 * @param ids kept token ids, ascending
 * @param probs probability of each kept token, aligned with {@code ids}, summing to 1
 * @param scaled the full vector after temperature (not copied; do not modify)
 */
public record Kept(int[] ids, double[] probs, float[] scaled) {

  /** Number of kept tokens. */
  public int size() {
    return ids.length;
  }

  /** Probability of {@code token}, 0 when it was filtered out. */
  public double probabilityOf(int token) {
    int i = java.util.Arrays.binarySearch(ids, token);
    return i >= 0 ? probs[i] : 0;
  }
}
