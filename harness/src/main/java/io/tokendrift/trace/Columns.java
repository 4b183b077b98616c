package io.tokendrift.trace;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;

/**
 * A trace's per-step columns as text: little-endian float32, float64 and int64 arrays in base64,
 * ids as base64 varints; decoding names the field a malformed column belongs to.
 */
final class Columns {
  private Columns() {}

  static String floats(float[] v, int count) {
    ByteBuffer b = ByteBuffer.allocate(4 * count).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      b.putFloat(v[i]);
    }
    return Base64.getEncoder().encodeToString(b.array());
  }

  static String doubles(double[] v, int count) {
    ByteBuffer b = ByteBuffer.allocate(8 * count).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      b.putDouble(v[i]);
    }
    return Base64.getEncoder().encodeToString(b.array());
  }

  static String longs(long[] v, int count) {
    ByteBuffer b = ByteBuffer.allocate(8 * count).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      b.putLong(v[i]);
    }
    return Base64.getEncoder().encodeToString(b.array());
  }

  /** LEB128 of (id + 1), so the padding id -1 costs one byte. */
  static String varints(int[] v, int count) {
    byte[] out = new byte[count * 5];
    int p = 0;
    for (int i = 0; i < count; i++) {
      int x = v[i] + 1;
      while ((x & ~0x7F) != 0) {
        out[p++] = (byte) ((x & 0x7F) | 0x80);
        x >>>= 7;
      }
      out[p++] = (byte) x;
    }
    return Base64.getEncoder().encodeToString(Arrays.copyOf(out, p));
  }

  static float[] floats(String b64, int count, String field) {
    byte[] bytes = decode(b64, field);
    if (bytes.length != 4 * count) {
      throw new IllegalArgumentException(
          field + ": " + bytes.length + " bytes, expected " + 4 * count);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[count];
    for (int i = 0; i < count; i++) {
      v[i] = b.getFloat();
    }
    return v;
  }

  static double[] doubles(String b64, int count, String field) {
    byte[] bytes = decode(b64, field);
    if (bytes.length != 8 * count) {
      throw new IllegalArgumentException(
          field + ": " + bytes.length + " bytes, expected " + 8 * count);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    double[] v = new double[count];
    for (int i = 0; i < count; i++) {
      v[i] = b.getDouble();
    }
    return v;
  }

  static long[] longs(String b64, int count, String field) {
    byte[] bytes = decode(b64, field);
    if (bytes.length != 8 * count) {
      throw new IllegalArgumentException(
          field + ": " + bytes.length + " bytes, expected " + 8 * count);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long[] v = new long[count];
    for (int i = 0; i < count; i++) {
      v[i] = b.getLong();
    }
    return v;
  }

  static int[] varints(String b64, int count, String field) {
    byte[] bytes = decode(b64, field);
    int[] v = new int[count];
    int p = 0;
    for (int i = 0; i < count; i++) {
      int x = 0;
      int shift = 0;
      while (true) {
        if (p >= bytes.length || shift > 28) {
          throw new IllegalArgumentException(field + ": ends inside value " + i + " of " + count);
        }
        int b = bytes[p++];
        x |= (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          break;
        }
        shift += 7;
      }
      v[i] = x - 1;
    }
    if (p != bytes.length) {
      throw new IllegalArgumentException(field + ": " + (bytes.length - p) + " bytes left over");
    }
    return v;
  }

  private static byte[] decode(String b64, String field) {
    try {
      return Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": not base64: " + e.getMessage(), e);
    }
  }
}
