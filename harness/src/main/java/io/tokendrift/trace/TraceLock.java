package io.tokendrift.trace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One writer per trace: an exclusive lock on {@code TRACE.lock} beside it, held while the trace is
 * written (two runs resuming or forcing the same trace would interleave or lose records). The lock
 * file holds the writer's process id and stays behind (deleting it would let a waiting process and
 * a new one both believe they hold it).
 */
public final class TraceLock implements AutoCloseable {
  /**
   * Lock files this JVM holds: a second lock in the same process is refused without opening the
   * file again (on Linux, closing any channel to a file drops the process's locks on it).
   */
  private static final java.util.Set<Path> HELD =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private TraceLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock of {@code trace}, or refuses at once naming the holder.
   *
   * @throws TraceLockedException when another writer holds it
   */
  public static TraceLock acquire(Path trace) {
    Path file = trace.resolveSibling(trace.getFileName() + ".lock").toAbsolutePath().normalize();
    if (!HELD.add(file)) {
      throw new TraceLockedException(
          trace
              + ": this process is already writing this trace (pid "
              + ProcessHandle.current().pid()
              + "); give another --trace / --out");
    }
    try {
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      FileChannel ch =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock l;
      try {
        l = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        l = null; // not expected: this process's own locks are caught by HELD above
      }
      if (l == null) {
        String holder = Files.readString(file, StandardCharsets.UTF_8).strip();
        ch.close();
        HELD.remove(file);
        throw new TraceLockedException(
            trace
                + ": another tokendrift process is writing this trace"
                + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                + "; wait for it to finish, or give another --trace / --out");
      }
      ch.truncate(0);
      ch.write(
          ByteBuffer.wrap(
              Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)));
      return new TraceLock(file, ch, l);
    } catch (IOException e) {
      HELD.remove(file);
      throw new UncheckedIOException(file + ": cannot lock: " + e.getMessage(), e);
    }
  }

  /** Releases the lock; closing twice is harmless. */
  @Override
  public void close() {
    if (!channel.isOpen()) {
      return;
    }
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      HELD.remove(file);
    }
  }
}
