package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.tokendrift.decode.Draws;
import io.tokendrift.engine.SummationOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * y = x W + b with W in [in, out] layout, its contraction either one matmul or split into chunks
 * whose partial products are added in a stated order.
 */
final class Linear {
  private final NDArray weight; // [in, out]
  private final NDArray bias; // [out] or null
  private final SummationOrder order;
  private final long[] cuts; // chunk boundaries inside [0, in), for NDArray.split
  private final List<NDArray> chunks = new ArrayList<>(); // [in_i, out] each
  private final int[] permutation; // order in which partials are added (SHUFFLE)

  Linear(NDArray weight, NDArray bias, SummationOrder order) {
    this.weight = weight;
    this.bias = bias;
    this.order = order;
    long in = weight.getShape().get(0);
    if (order.isNative()) {
      cuts = new long[0];
      permutation = new int[0];
      return;
    }
    int s = order.chunks();
    if (s > in) {
      throw new IllegalArgumentException(
          "summation "
              + order
              + ": S ("
              + s
              + ") exceeds the contraction dimension ("
              + in
              + ") of a linear layer; allowed: 1.."
              + in);
    }
    // Even chunks: boundary i at floor(i * in / S), so sizes differ by at most one.
    cuts = new long[s - 1];
    for (int i = 1; i < s; i++) {
      cuts[i - 1] = i * in / s;
    }
    if (s == 1) {
      chunks.add(weight);
    } else {
      NDList parts = weight.split(cuts, 0);
      for (NDArray p : parts) {
        chunks.add(p);
      }
    }
    permutation =
        order.order() == SummationOrder.Order.SHUFFLE
            ? new Draws(order.shuffleSeed(), 0).permutation(s)
            : new int[0];
  }

  /** Applies the layer to x [..., in]; returns [..., out]. */
  NDArray apply(NDArray x) {
    NDArray y;
    if (order.isNative() || order.chunks() == 1) {
      y = x.matMul(weight);
    } else {
      NDList xs = x.split(cuts, x.getShape().dimension() - 1);
      NDArray[] partials = new NDArray[chunks.size()];
      for (int i = 0; i < partials.length; i++) {
        partials[i] = xs.get(i).matMul(chunks.get(i));
      }
      y = sum(partials);
    }
    return bias == null ? y : y.add(bias);
  }

  private NDArray sum(NDArray[] p) {
    return switch (order.order()) {
      case FORWARD -> {
        NDArray acc = p[0];
        for (int i = 1; i < p.length; i++) {
          acc = acc.add(p[i]);
        }
        yield acc;
      }
      case REVERSE -> {
        NDArray acc = p[p.length - 1];
        for (int i = p.length - 2; i >= 0; i--) {
          acc = acc.add(p[i]);
        }
        yield acc;
      }
      case PAIRWISE -> pairwise(p, 0, p.length);
      case SHUFFLE -> {
        NDArray acc = p[permutation[0]];
        for (int i = 1; i < p.length; i++) {
          acc = acc.add(p[permutation[i]]);
        }
        yield acc;
      }
    };
  }

  private static NDArray pairwise(NDArray[] p, int from, int to) {
    if (to - from == 1) {
      return p[from];
    }
    int mid = from + (to - from + 1) / 2;
    return pairwise(p, from, mid).add(pairwise(p, mid, to));
  }
}
