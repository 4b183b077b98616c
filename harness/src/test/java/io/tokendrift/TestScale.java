package io.tokendrift;

/**
 * How much of a large test matrix runs. {@code mvn verify} (the README's test command) runs a
 * covering subset of each: every capability, fewer sizes; {@code mvn verify -Pthorough} (which
 * {@code .ci/run} also runs) sets {@code tokendrift.thorough} and runs the full matrices.
 */
public final class TestScale {
  private TestScale() {}

  /** True under {@code -Pthorough}. */
  public static boolean thorough() {
    return Boolean.getBoolean("tokendrift.thorough");
  }

  /** {@code full} under {@code -Pthorough}, else {@code quick}. */
  public static int[] pick(int[] quick, int[] full) {
    return thorough() ? full : quick;
  }
}
