package io.tokendrift.decode;

/**
 * Philox4x32-10, the counter-based generator of Salmon et al. (SC'11) that PyTorch's CUDA sampling
 * and JAX use: the output is a pure function of (counter, key), so a draw depends only on what it
 * is for, never on call order, thread or device.
 *
 * <p>Checked against the Random123 known-answer vectors in the tests.
 */
public final class Philox {
  private static final int M0 = 0xD2511F53;
  private static final int M1 = 0xCD9E8D57;
  private static final int W0 = 0x9E3779B9;
  private static final int W1 = 0xBB67AE85;
  private static final int ROUNDS = 10;

  private Philox() {}

  /** Encrypts the 128-bit counter {@code c} under the 64-bit key {@code k}; returns 4 words. */
  public static int[] block(int c0, int c1, int c2, int c3, int k0, int k1) {
    for (int r = 0; r < ROUNDS; r++) {
      if (r > 0) {
        k0 += W0;
        k1 += W1;
      }
      long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
      long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
      int hi0 = (int) (p0 >>> 32);
      int lo0 = (int) p0;
      int hi1 = (int) (p1 >>> 32);
      int lo1 = (int) p1;
      c0 = hi1 ^ c1 ^ k0;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ k1;
      c3 = lo0;
    }
    return new int[] {c0, c1, c2, c3};
  }
}
