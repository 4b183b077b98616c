package io.tokendrift.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header,
 * then raw little-endian data) in plain Java, so DJL never sees a BF16 tensor: F32 is read as is,
 * F16 and BF16 are widened to float32 here.
 */
public final class Safetensors {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Safetensors() {}

  /** Reads every tensor of {@code file}, in file order. */
  public static Map<String, Tensor> read(Path file) {
    return read(file, name -> true);
  }

  /**
   * Reads the tensors of {@code file} whose names {@code wanted} accepts, in file order; the others
   * are never loaded, so a checkpoint's unused tensors cost no memory.
   */
  public static Map<String, Tensor> read(Path file, Predicate<String> wanted) {
    return scan(file, wanted, true, null);
  }

  /**
   * The shapes of every tensor of {@code file} from its header alone (no data is read), in file
   * order: for checking a checkpoint before loading it tensor by tensor.
   */
  public static Map<String, long[]> shapes(Path file) {
    Map<String, long[]> out = new LinkedHashMap<>();
    scan(file, name -> true, false, out);
    return out;
  }

  private static Map<String, Tensor> scan(
      Path file, Predicate<String> wanted, boolean data, Map<String, long[]> shapes) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) {
        throw new ModelFormatException(
            file + ": too short for a safetensors file (" + size + " bytes)");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long headerLen = lenBuf.flip().getLong();
      if (headerLen <= 0 || headerLen > size - 8 || headerLen > 100_000_000) {
        throw new ModelFormatException(
            file + ": header length " + headerLen + " does not fit a file of " + size + " bytes");
      }
      ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
      readFully(ch, hb, 8);
      JsonNode header;
      try {
        header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new ModelFormatException(file + ": header is not valid JSON: " + e.getMessage(), e);
      }
      long dataStart = 8 + headerLen;
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__") || !wanted.test(e.getKey())) {
          continue;
        }
        if (!data) {
          JsonNode sn = e.getValue().path("shape");
          long[] shape = new long[sn.size()];
          for (int i = 0; i < shape.length; i++) {
            shape[i] = sn.get(i).asLong();
          }
          shapes.put(e.getKey(), shape);
          continue;
        }
        out.put(e.getKey(), readTensor(file, ch, e.getKey(), e.getValue(), dataStart, size));
      }
      return out;
    } catch (IOException e) {
      throw new ModelFormatException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  private static Tensor readTensor(
      Path file, FileChannel ch, String name, JsonNode info, long dataStart, long size)
      throws IOException {
    String where = file + ": tensor '" + name + "'";
    String dtype = info.path("dtype").asText("");
    int width =
        switch (dtype) {
          case "F32" -> 4;
          case "F16", "BF16" -> 2;
          default ->
              throw new ModelFormatException(
                  where + ": dtype '" + dtype + "' is not supported; allowed: F32, F16, BF16");
        };
    JsonNode shapeNode = info.path("shape");
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = shapeNode.get(i).asLong();
    }
    long count = Tensor.elementCount(shape);
    JsonNode off = info.path("data_offsets");
    long begin = off.path(0).asLong(-1);
    long end = off.path(1).asLong(-1);
    if (begin < 0 || end < begin || dataStart + end > size) {
      throw new ModelFormatException(
          where + ": data_offsets [" + begin + ", " + end + "] lie outside the file");
    }
    if (end - begin != count * width) {
      throw new ModelFormatException(
          where
              + ": "
              + (end - begin)
              + " bytes of data for shape "
              + java.util.Arrays.toString(shape)
              + " of "
              + dtype
              + " (expected "
              + count * width
              + ")");
    }
    if (count > Integer.MAX_VALUE - 8) {
      throw new ModelFormatException(where + ": too large for one Java array");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
    readFully(ch, buf, dataStart + begin);
    buf.flip();
    float[] data = new float[(int) count];
    switch (dtype) {
      case "F32" -> buf.asFloatBuffer().get(data);
      case "F16" -> {
        for (int i = 0; i < data.length; i++) {
          data[i] = Half.toFloat(buf.getShort());
        }
      }
      default -> {
        // BF16 is the top half of a float32: widening is exact.
        for (int i = 0; i < data.length; i++) {
          data[i] = Float.intBitsToFloat((buf.getShort() & 0xFFFF) << 16);
        }
      }
    }
    return new Tensor(name, shape, data);
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) {
        throw new IOException("unexpected end of file at byte " + pos);
      }
      pos += n;
    }
  }

  /**
   * Writes {@code tensors} as F32, sorted by name so the same tensors always give the same bytes.
   * Writes to a temporary file first and moves it into place, so a crash never leaves half a file.
   */
  public static void write(Path file, Collection<Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    write(file, tensors, metadata, Map.of());
  }

  /**
   * Writes {@code tensors} as {@link #write(Path, Collection, Map)} does, each in the dtype {@code
   * dtypes} names for it ({@code F32}, {@code F16} or {@code BF16}; F32 when absent), rounding to
   * nearest, ties to even, as PyTorch's {@code .to(dtype)} does. Values already at that precision
   * (see {@link #toBf16Precision}, {@link #toF16Precision}) are stored exactly.
   */
  public static void write(
      Path file,
      Collection<Tensor> tensors,
      Map<String, String> metadata,
      Map<String, String> dtypes)
      throws IOException {
    for (Map.Entry<String, String> d : dtypes.entrySet()) {
      if (!List.of("F32", "F16", "BF16").contains(d.getValue())) {
        throw new IllegalArgumentException(
            d.getKey()
                + ": dtype '"
                + d.getValue()
                + "' cannot be written; allowed: F32, F16, BF16");
      }
    }
    List<Tensor> sorted = new ArrayList<>(tensors);
    sorted.sort(Comparator.comparing(Tensor::name));
    ObjectNode header = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      new java.util.TreeMap<>(metadata).forEach(meta::put);
    }
    long offset = 0;
    for (Tensor t : sorted) {
      ObjectNode n = header.putObject(t.name());
      String dtype = dtypes.getOrDefault(t.name(), "F32");
      n.put("dtype", dtype);
      var shape = n.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      long bytes = (dtype.equals("F32") ? 4L : 2L) * t.data().length;
      n.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = java.util.Arrays.copyOf(json, padded);
    java.util.Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
      out.write(len.array());
      out.write(headerBytes);
      ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (Tensor t : sorted) {
        String dtype = dtypes.getOrDefault(t.name(), "F32");
        for (float v : t.data()) {
          if (chunk.remaining() < 4) {
            out.write(chunk.array(), 0, chunk.position());
            chunk.clear();
          }
          switch (dtype) {
            case "F32" -> chunk.putFloat(v);
            case "F16" -> chunk.putShort(toHalfBits(v));
            default -> chunk.putShort(toBf16Bits(v));
          }
        }
      }
      out.write(chunk.array(), 0, chunk.position());
    }
    Files.move(
        tmp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** {@code v} rounded to bfloat16 (nearest, ties to even) and widened back: exact in float32. */
  public static float toBf16Precision(float v) {
    return Float.intBitsToFloat((toBf16Bits(v) & 0xFFFF) << 16);
  }

  /** {@code v} rounded to IEEE binary16 (nearest, ties to even) and widened back. */
  public static float toF16Precision(float v) {
    return Half.toFloat(toHalfBits(v));
  }

  /** The top half of float32 after rounding to nearest even; NaN stays a (quiet) NaN. */
  private static short toBf16Bits(float v) {
    int bits = Float.floatToRawIntBits(v);
    if (Float.isNaN(v)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int bias = 0x7FFF + ((bits >>> 16) & 1);
    return (short) ((bits + bias) >>> 16);
  }

  /** IEEE binary16 bits of {@code v}, rounded to nearest even; beyond 65504 it is infinite. */
  private static short toHalfBits(float v) {
    int bits = Float.floatToRawIntBits(v);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7FFFFFFF;
    if (abs >= 0x7F800000) {
      return (short) (sign | 0x7C00 | (abs > 0x7F800000 ? 0x200 | ((abs >>> 13) & 0x3FF) : 0));
    }
    if (abs >= 0x477FF000) { // 65520: the midpoint above 65504 rounds (to even) to infinity
      return (short) (sign | 0x7C00);
    }
    if (abs < 0x38800000) { // below 2^-14: a subnormal half, a multiple of 2^-24
      // Scaling by 2^24 is exact; rint rounds to nearest even; 1024 is the smallest normal's bits.
      return (short) (sign | (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24));
    }
    int half = (((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3FF);
    int rest = abs & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
      half++; // a carry out of the mantissa correctly bumps the exponent
    }
    return (short) (sign | half);
  }
}
