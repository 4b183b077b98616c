package io.tokendrift.trace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends run records to a trace, one line each, written and forced to disk as each run completes:
 * a crash or {@code kill -9} loses at most the run being written, and the reader detects that
 * cut-off line.
 */
public final class TraceWriter implements AutoCloseable {
  private final Path file;
  private final FileChannel channel;
  private final TraceLock lock;
  private boolean sync = true;

  private TraceWriter(Path file, FileChannel channel, TraceLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Stops forcing each record to disk: for generated traces (benchmarks, fixtures) whose loss on a
   * crash costs nothing. Never for recorded experiments.
   */
  public TraceWriter withoutSync() {
    this.sync = false;
    return this;
  }

  /**
   * Starts a new trace with {@code header}. Refuses an existing file unless {@code force}; then the
   * old file is replaced only once the new header is safely written.
   */
  public static TraceWriter create(Path file, TraceHeader header, boolean force) {
    return create(file, header, force, TraceLock.acquire(file));
  }

  /**
   * As {@link #create(Path, TraceHeader, boolean)}, under a lock the caller took (and hands over).
   */
  public static TraceWriter create(Path file, TraceHeader header, boolean force, TraceLock lock) {
    try {
      if (Files.exists(file) && !force) {
        lock.close();
        throw new IllegalArgumentException(
            file + ": a trace is already there; --resume continues it, --force replaces it");
      }
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".new");
      // Temporary files are created owner-only; a trace is as readable as any file the user makes.
      try {
        Files.setPosixFilePermissions(
            tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system: its defaults apply
      }
      Files.writeString(tmp, TraceCodec.header(header) + "\n", StandardCharsets.UTF_8);
      // On disk before it replaces anything: a crash must not leave an empty trace for an old one.
      try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        c.force(true);
      }
      Files.move(
          tmp,
          file,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      return new TraceWriter(
          file, FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND), lock);
    } catch (IOException e) {
      lock.close();
      throw new UncheckedIOException(file + ": cannot create trace: " + e.getMessage(), e);
    }
  }

  /**
   * Continues an existing trace: a record cut off at the end (a crash mid-write) is removed so the
   * next record starts on a fresh line.
   *
   * @param validLength the length through the last complete line, from {@link TraceReader}
   */
  public static TraceWriter append(Path file, long validLength) {
    return append(file, validLength, TraceLock.acquire(file));
  }

  /** As {@link #append(Path, long)}, under a lock the caller took (and hands over). */
  public static TraceWriter append(Path file, long validLength, TraceLock lock) {
    try {
      FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
      if (ch.size() > validLength) {
        ch.truncate(validLength);
        ch.force(true);
      }
      ch.position(validLength);
      return new TraceWriter(file, ch, lock);
    } catch (IOException e) {
      lock.close();
      throw new UncheckedIOException(file + ": cannot append: " + e.getMessage(), e);
    }
  }

  /** Writes one record as a line and forces it to disk. */
  public synchronized void write(RunRecord r) {
    byte[] bytes = (TraceCodec.run(r) + "\n").getBytes(StandardCharsets.UTF_8);
    long start = -1;
    try {
      start = channel.position();
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        channel.write(b);
      }
      if (sync) {
        channel.force(false);
      }
    } catch (IOException e) {
      // A half-written line (a full disk) is cut back off, so the trace ends on a whole record
      // and --resume can go on from it.
      if (start >= 0) {
        try {
          channel.truncate(start);
        } catch (IOException ignored) {
          // the reader reports a cut-off tail, which --resume removes
        }
      }
      throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
    }
  }

  public Path file() {
    return file;
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      lock.close();
    }
  }
}
