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
        if (e.getKey().equals("__metadata__")) {
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
      n.put("dtype", "F32");
      var shape = n.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      long bytes = 4L * t.data().length;
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
        for (float v : t.data()) {
          if (!chunk.hasRemaining()) {
            out.write(chunk.array(), 0, chunk.position());
            chunk.clear();
          }
          chunk.putFloat(v);
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
}
