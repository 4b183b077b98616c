package io.tokendrift.engine;

import java.util.Locale;

/**
 * How linear layers sum over their contraction dimension: {@code native} (one matmul) or split-K,
 * the dimension cut into {@code chunks} partial products summed in {@code order} — what GPU split-K
 * kernels and batch-dependent kernel choice do to the order of floating-point additions.
 *
 * @param chunks 0 for native, else the number of partial products
 * @param order how the partials are summed (null for native)
 * @param shuffleSeed the permutation's seed for {@link Order#SHUFFLE}
 */
public record SummationOrder(int chunks, Order order, long shuffleSeed) {
  /** One matmul per linear layer. */
  public static final SummationOrder NATIVE = new SummationOrder(0, null, 0);

  /** The order partial products are added in. */
  public enum Order {
    /** ((p0 + p1) + p2) + ... */
    FORWARD,
    /** ((p[S-1] + p[S-2]) + ...) + p0 */
    REVERSE,
    /** A balanced tree: (p0 + p1) + (p2 + p3), ... */
    PAIRWISE,
    /** Forward over a seeded permutation of the partials. */
    SHUFFLE
  }

  public SummationOrder {
    if (chunks < 0 || (chunks == 0) != (order == null)) {
      throw new IllegalArgumentException(
          "summation: chunks (" + chunks + ") must be >= 1 with an order");
    }
  }

  /** True for one plain matmul. */
  public boolean isNative() {
    return chunks == 0;
  }

  /**
   * Parses {@code native} or {@code splitk:S:ORDER} with ORDER one of forward, reverse, pairwise,
   * shuffle:SEED.
   */
  public static SummationOrder parse(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    if (v.equals("native")) {
      return NATIVE;
    }
    String[] p = v.split(":");
    String allowed =
        "; allowed: native, splitk:S:forward, splitk:S:reverse, splitk:S:pairwise, splitk:S:shuffle:SEED"
            + " (S >= 1)";
    if (p.length < 3 || !p[0].equals("splitk")) {
      throw new IllegalArgumentException("summation '" + s + "' is not known" + allowed);
    }
    int chunks;
    try {
      chunks = Integer.parseInt(p[1]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "summation '" + s + "': S '" + p[1] + "' is not a number" + allowed);
    }
    if (chunks < 1) {
      throw new IllegalArgumentException("summation '" + s + "': S (" + chunks + ") must be >= 1");
    }
    Order order;
    long seed = 0;
    switch (p[2]) {
      case "forward" -> order = Order.FORWARD;
      case "reverse" -> order = Order.REVERSE;
      case "pairwise" -> order = Order.PAIRWISE;
      case "shuffle" -> {
        order = Order.SHUFFLE;
        if (p.length != 4) {
          throw new IllegalArgumentException(
              "summation '" + s + "': shuffle needs a seed" + allowed);
        }
        try {
          seed = Long.parseLong(p[3]);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(
              "summation '" + s + "': seed '" + p[3] + "' is not a number" + allowed);
        }
      }
      default ->
          throw new IllegalArgumentException(
              "summation '" + s + "': order '" + p[2] + "' is not known" + allowed);
    }
    if (order != Order.SHUFFLE && p.length != 3) {
      throw new IllegalArgumentException("summation '" + s + "' is not known" + allowed);
    }
    return new SummationOrder(chunks, order, seed);
  }

  @Override
  public String toString() {
    if (isNative()) {
      return "native";
    }
    String o = order.name().toLowerCase(Locale.ROOT);
    return "splitk:" + chunks + ":" + o + (order == Order.SHUFFLE ? ":" + shuffleSeed : "");
  }
}
