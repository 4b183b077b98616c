package io.tokendrift.decode;

/**
 * The uniform random numbers of one run, keyed by (seed, run, step, token) through {@link Philox}.
 *
 * <p>The same seed and run give the same draw for a step whatever the device, batch position,
 * thread count or order of calls: there is no hidden state. {@code run} is the run's stable
 * identity (a hash of its definition) or 0 when the caller wants draws to depend on the seed alone.
 *
 * @param seed the user's sampling seed, the Philox key
 * @param run the run's identity, the high half of the Philox counter
 */
public record Draws(long seed, long run) {

  /** Counter word for the one draw per step used by inverse-CDF sampling; no token has this id. */
  static final int STEP_DRAW = -1;

  /** The inverse-CDF draw of {@code step}, in the open interval (0, 1). */
  public double uniform(int step) {
    return uniform(step, STEP_DRAW);
  }

  /** The draw for {@code token} at {@code step} (Gumbel-max), in the open interval (0, 1). */
  public double uniform(int step, int token) {
    int[] w =
        Philox.block(token, step, (int) run, (int) (run >>> 32), (int) seed, (int) (seed >>> 32));
    long bits = ((w[0] & 0xFFFFFFFFL) << 21) | ((w[1] & 0xFFFFFFFFL) >>> 11);
    // 53 random bits centred in their cell: never exactly 0 or 1, so log(-log(u)) is always finite.
    return (bits + 0.5) * 0x1.0p-53;
  }

  /**
   * A Fisher-Yates permutation of 0..n-1 drawn from this run's draws (step i gives the swap at
   * position i): the same seed and run give the same order everywhere.
   */
  public int[] permutation(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = (int) (uniform(i) * (i + 1));
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
