package io.tokendrift.analysis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * What the analysis reads again about a run after comparing it, kept out of the heap: its per-step
 * drift (the floors' quantiles and bootstraps), and for a divergent run, or one whose prompt has an
 * expected answer, its tokens and text (the divergence list, its contexts, the answers). Each run
 * keeps only the offset of its entry, so the heap a run costs does not grow with its length.
 *
 * <p>Entries stay in memory up to {@link #IN_MEMORY} bytes, beyond which all of them go to a
 * temporary file, deleted once the analysis that owns it is unreachable (or at exit). Writes come
 * first (the comparing pass), reads after.
 */
final class RunSpill {
  /** Bytes kept in the heap before the store moves to a file. */
  static final int IN_MEMORY = 16 << 20;

  private static final Cleaner CLEANER = Cleaner.create();

  /** The file and its channel, closed and deleted by the cleaner (holds no spill reference). */
  private static final class FileState implements Runnable {
    final Path path;
    final FileChannel channel;

    FileState(Path path, FileChannel channel) {
      this.path = path;
      this.channel = channel;
    }

    @Override
    public void run() {
      try {
        channel.close();
        Files.deleteIfExists(path);
      } catch (IOException e) {
        // A temporary file left behind: deleteOnExit removes it with the process.
      }
    }
  }

  private final int threshold;
  private byte[] mem = new byte[1 << 12];
  private long size;
  private FileState file;
  private ByteBuffer out; // write buffer of the file, when there is one
  private long flushed; // bytes in the file
  private boolean finished;

  RunSpill() {
    this(IN_MEMORY);
  }

  /** A store that moves to a file past {@code threshold} bytes (tests give a small one). */
  RunSpill(int threshold) {
    this.threshold = threshold;
  }

  /** Whether the entries went to a temporary file. */
  boolean onDisk() {
    return file != null;
  }

  /** Bytes it holds in the heap (its entries before it moves to a file, its buffer after). */
  long heapBytes() {
    return mem != null ? mem.length : out.capacity();
  }

  /** Bytes stored. */
  long size() {
    return size;
  }

  /**
   * Stores one run's entry and returns its offset.
   *
   * @param drift per-step drift, or null when the run was not compared
   * @param tokens its tokens, or null when not kept
   * @param text its text, or null when not kept
   */
  long put(float[] drift, int[] tokens, String text) {
    byte[] t = text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    int bytes =
        12
            + (drift == null ? 0 : 4 * drift.length)
            + (tokens == null ? 0 : 4 * tokens.length)
            + (t == null ? 0 : t.length);
    ByteBuffer b = ByteBuffer.allocate(bytes);
    b.putInt(drift == null ? -1 : drift.length);
    if (drift != null) {
      for (float f : drift) {
        b.putFloat(f);
      }
    }
    b.putInt(tokens == null ? -1 : tokens.length);
    if (tokens != null) {
      for (int x : tokens) {
        b.putInt(x);
      }
    }
    b.putInt(t == null ? -1 : t.length);
    if (t != null) {
      b.put(t);
    }
    long at = size;
    write(b.array());
    return at;
  }

  /** Stores bytes as one entry and returns its offset. */
  long putBytes(byte[] b) {
    long at = size;
    write(ByteBuffer.allocate(4).putInt(b.length).array());
    write(b);
    return at;
  }

  /** The bytes stored at {@code at} by {@link #putBytes}. */
  ByteBuffer bytes(long at) {
    return read(at + 4, count(at));
  }

  private void write(byte[] b) {
    if (file == null && size + b.length > threshold) {
      toFile();
    }
    if (file == null) {
      if (size + b.length > mem.length) {
        mem =
            Arrays.copyOf(
                mem, (int) Math.min(threshold, Math.max(size + b.length, 2L * mem.length)));
      }
      System.arraycopy(b, 0, mem, (int) size, b.length);
    } else {
      ByteBuffer src = ByteBuffer.wrap(b);
      while (src.hasRemaining()) {
        if (!out.hasRemaining()) {
          flush();
        }
        int n = Math.min(out.remaining(), src.remaining());
        out.put(src.array(), src.position(), n);
        src.position(src.position() + n);
      }
    }
    size += b.length;
  }

  private void toFile() {
    try {
      Path p = Files.createTempFile("tokendrift-analysis", ".spill");
      p.toFile().deleteOnExit();
      FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
      file = new FileState(p, ch);
      CLEANER.register(this, file);
      ByteBuffer held = ByteBuffer.wrap(mem, 0, (int) size);
      while (held.hasRemaining()) {
        flushed += ch.write(held, flushed);
      }
      out = ByteBuffer.allocate(1 << 20);
      mem = null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the analysis's temporary file: " + e, e);
    }
  }

  private void flush() {
    try {
      out.flip();
      while (out.hasRemaining()) {
        flushed += file.channel.write(out, flushed);
      }
      out.clear();
    } catch (IOException e) {
      throw new UncheckedIOException(file.path + ": cannot write: " + e.getMessage(), e);
    }
  }

  /** Ends the writes: what follows are reads. */
  void finish() {
    if (file != null && out.position() > 0) {
      flush();
    }
    finished = true;
  }

  private ByteBuffer read(long at, int bytes) {
    if (!finished) {
      throw new IllegalStateException("the spill is read before its writes are finished");
    }
    if (file == null) {
      return ByteBuffer.wrap(mem, (int) at, bytes).slice();
    }
    ByteBuffer b = ByteBuffer.allocate(bytes);
    try {
      long pos = at;
      while (b.hasRemaining()) {
        int n = file.channel.read(b, pos);
        if (n < 0) {
          throw new IOException("unexpected end of file at " + pos);
        }
        pos += n;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(file.path + ": cannot read: " + e.getMessage(), e);
    } finally {
      // The cleaner closes the channel once this spill is unreachable: not during a read.
      java.lang.ref.Reference.reachabilityFence(this);
    }
    return b.flip();
  }

  private int count(long at) {
    return read(at, 4).getInt();
  }

  /** The drift stored at {@code at} (empty when the run was not compared). */
  float[] drift(long at) {
    int n = count(at);
    if (n <= 0) {
      return new float[0];
    }
    ByteBuffer b = read(at + 4, 4 * n);
    float[] v = new float[n];
    b.asFloatBuffer().get(v);
    return v;
  }

  private long tokensAt(long at) {
    return at + 4 + 4L * Math.max(0, count(at));
  }

  /** The tokens stored at {@code at}, or null when they were not kept. */
  int[] tokens(long at) {
    long t = tokensAt(at);
    int n = count(t);
    if (n < 0) {
      return null;
    }
    int[] v = new int[n];
    read(t + 4, 4 * n).asIntBuffer().get(v);
    return v;
  }

  /** The text stored at {@code at}, or null when it was not kept. */
  String text(long at) {
    long t = tokensAt(at);
    long x = t + 4 + 4L * Math.max(0, count(t));
    int n = count(x);
    if (n < 0) {
      return null;
    }
    ByteBuffer b = read(x + 4, n);
    byte[] bytes = new byte[n];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
