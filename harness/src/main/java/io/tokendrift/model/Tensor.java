package io.tokendrift.model;

import java.util.Arrays;

/**
 * A named float tensor held in Java memory, row-major.
 *
 * @param name the tensor's name in its checkpoint
 * @param shape dimensions, outermost first
 * @param data values, row-major; length is the product of {@code shape}
 */
public record Tensor(String name, long[] shape, float[] data) {
  public Tensor {
    long n = elementCount(shape);
    if (n != data.length) {
      throw new IllegalArgumentException(
          name
              + ": shape "
              + Arrays.toString(shape)
              + " holds "
              + n
              + " values, got "
              + data.length);
    }
  }

  /** Number of values a tensor of {@code shape} holds: the product of its dimensions. */
  public static long elementCount(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** The shape as text, e.g. {@code [768, 2304]}. */
  public String shapeText() {
    return Arrays.toString(shape);
  }
}
