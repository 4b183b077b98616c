package io.tokendrift.model;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The GGUF container (version 3, ggml's {@code gguf.md}): little-endian; header (magic {@code
 * GGUF}, version, tensor count, key-value count), the key-value pairs, the tensor infos (name,
 * dimensions innermost first, type, offset), padding to {@link #ALIGNMENT}, then each tensor's data
 * at an aligned offset. {@link GgufWriter} decides what goes in; this writes it.
 */
final class GgufFile {
  private GgufFile() {}

  /** {@code general.alignment}'s default: where every tensor's data starts. */
  static final int ALIGNMENT = 32;

  static final int TYPE_UINT32 = 4;
  static final int TYPE_INT32 = 5;
  static final int TYPE_FLOAT32 = 6;
  static final int TYPE_BOOL = 7;
  static final int TYPE_STRING = 8;
  static final int TYPE_ARRAY = 9;

  /** ggml's tensor type of float32 data. */
  static final int GGML_F32 = 0;

  /** ggml's tensor type of binary16 data. */
  static final int GGML_F16 = 1;

  /** {@code general.file_type} of an all-float32 file. */
  static final int FILE_TYPE_ALL_F32 = 0;

  /** {@code general.file_type} of a file whose matrices are binary16. */
  static final int FILE_TYPE_MOSTLY_F16 = 1;

  record Kv(String key, int type, Object value) {}

  /** A tensor to write: its shape now, its data when its turn comes. */
  record Out(String name, long[] shape, java.util.function.Supplier<float[]> data) {
    long count() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  static void write(Path out, List<Kv> kv, List<Out> tensors, boolean f16) throws IOException {
    Path tmp = Files.createTempFile(out.toAbsolutePath().getParent(), ".gguf-", ".part");
    try {
      try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
        Sink s = new Sink(os);
        s.bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        s.u32(3);
        s.u64(tensors.size());
        s.u64(kv.size());
        for (Kv e : kv) {
          s.string(e.key());
          s.u32(e.type());
          value(s, e.type(), e.value());
        }
        long offset = 0;
        for (Out t : tensors) {
          s.string(t.name());
          s.u32(t.shape().length);
          for (int d = t.shape().length - 1; d >= 0; d--) {
            s.u64(t.shape()[d]); // ggml: innermost dimension first
          }
          boolean half = f16 && t.shape().length == 2;
          s.u32(half ? GGML_F16 : GGML_F32);
          s.u64(offset);
          offset = align(offset + (half ? 2L : 4L) * t.count());
        }
        s.pad();
        for (Out t : tensors) {
          boolean half = f16 && t.shape().length == 2;
          float[] data = t.data().get();
          if (data.length != t.count()) {
            throw new ModelFormatException(
                t.name() + ": " + data.length + " values, its shape holds " + t.count());
          }
          // In chunks: a large embedding's bytes exceed one array (2^31 - 1).
          int chunk = 1 << 20;
          ByteBuffer b = ByteBuffer.allocate(4 * chunk).order(ByteOrder.LITTLE_ENDIAN);
          for (int from = 0; from < data.length; from += chunk) {
            int to = Math.min(data.length, from + chunk);
            b.clear();
            for (int i = from; i < to; i++) {
              if (half) {
                b.putShort(Half.fromFloat(data[i]));
              } else {
                b.putFloat(data[i]);
              }
            }
            s.bytes(java.util.Arrays.copyOf(b.array(), b.position()));
          }
          s.pad();
        }
      }
      try {
        // Readable by others, as any file a user writes (createTempFile makes it owner-only).
        Files.setPosixFilePermissions(
            tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @SuppressWarnings("unchecked")
  private static void value(Sink s, int type, Object v) throws IOException {
    switch (type) {
      case TYPE_UINT32 -> s.u32((Integer) v);
      case TYPE_FLOAT32 -> s.f32((Float) v);
      case TYPE_BOOL -> s.bytes(new byte[] {(byte) ((Boolean) v ? 1 : 0)});
      case TYPE_STRING -> s.string((String) v);
      case TYPE_ARRAY -> {
        if (v instanceof int[] ints) {
          s.u32(TYPE_INT32);
          s.u64(ints.length);
          for (int x : ints) {
            s.u32(x);
          }
        } else {
          List<String> l = (List<String>) v;
          s.u32(TYPE_STRING);
          s.u64(l.size());
          for (String x : l) {
            s.string(x);
          }
        }
      }
      default -> throw new IllegalArgumentException("GGUF value type " + type);
    }
  }

  static long align(long n) {
    return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  /** Little-endian primitives, counting bytes for the padding. */
  private static final class Sink {
    private final OutputStream os;
    private final ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    private long written;

    Sink(OutputStream os) {
      this.os = os;
    }

    void bytes(byte[] x) throws IOException {
      os.write(x);
      written += x.length;
    }

    void u32(long v) throws IOException {
      b.clear();
      b.putInt((int) v);
      bytes(java.util.Arrays.copyOf(b.array(), 4));
    }

    void u64(long v) throws IOException {
      b.clear();
      b.putLong(v);
      bytes(b.array().clone());
    }

    void f32(float v) throws IOException {
      b.clear();
      b.putFloat(v);
      bytes(java.util.Arrays.copyOf(b.array(), 4));
    }

    void string(String s) throws IOException {
      byte[] x = s.getBytes(StandardCharsets.UTF_8);
      u64(x.length);
      bytes(x);
    }

    void pad() throws IOException {
      long p = align(written) - written;
      if (p > 0) {
        bytes(new byte[(int) p]);
      }
    }
  }
}
