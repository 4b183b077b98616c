package io.tokendrift.trace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One writer per trace: an exclusive lock on {@code TRACE.lock} beside it, held while the trace is
 * written (two runs resuming or forcing the same trace would interleave or lose records). The lock
 * file holds the writer's process id and is removed when the lock is released — by {@link #close},
 * or by a shutdown hook when the JVM ends on an exit or a Ctrl-C with the lock still held. Only a
 * process killed outright leaves it behind; the operating system has dropped its lock, so the next
 * writer takes the file over and says whose it was ({@link #staleHolder}).
 *
 * <p>Removing a lock file races with a process that opened it just before: that process may get the
 * lock on the removed file while a third creates a new one. So a lock counts only when the file at
 * the path, after locking, is still the one locked (same file key); otherwise it is taken again.
 */
public final class TraceLock implements AutoCloseable {
  /**
   * Lock files this JVM holds: a second lock in the same process is refused without opening the
   * file again (on Linux, closing any channel to a file drops the process's locks on it). The
   * shutdown hook removes those still held when the JVM ends.
   */
  private static final Set<TraceLock> HELD = ConcurrentHashMap.newKeySet();

  private static final Set<Path> HELD_FILES = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (TraceLock l : HELD) {
                    l.closeQuietly();
                  }
                },
                "tokendrift-trace-locks"));
  }

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;
  private final OptionalLong staleHolder;

  private TraceLock(Path file, FileChannel channel, FileLock lock, OptionalLong staleHolder) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
    this.staleHolder = staleHolder;
  }

  /** The lock file of {@code trace}: {@code TRACE.lock} beside it. */
  public static Path fileOf(Path trace) {
    return trace.resolveSibling(trace.getFileName() + ".lock").toAbsolutePath().normalize();
  }

  /**
   * Takes the lock of {@code trace}, or refuses at once naming the holder.
   *
   * @throws TraceLockedException when another writer holds it
   */
  public static TraceLock acquire(Path trace) {
    Path file = fileOf(trace);
    if (!HELD_FILES.add(file)) {
      throw new TraceLockedException(
          trace
              + ": this process is already writing this trace (pid "
              + ProcessHandle.current().pid()
              + "); give another --trace / --out");
    }
    try {
      Files.createDirectories(file.getParent());
      // A few tries: each retry means the file was removed (released) between open and lock.
      for (int attempt = 0; attempt < 100; attempt++) {
        TraceLock l = tryOnce(trace, file);
        if (l != null) {
          HELD.add(l);
          return l;
        }
      }
      throw new TraceLockedException(
          trace + ": the lock file " + file + " keeps being replaced; is another tool using it?");
    } catch (IOException e) {
      HELD_FILES.remove(file);
      throw new UncheckedIOException(file + ": cannot lock: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      HELD_FILES.remove(file);
      throw e;
    }
  }

  /** One try: the lock, or null when the locked file is no longer the one at the path. */
  private static TraceLock tryOnce(Path trace, Path file) throws IOException {
    FileChannel ch =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock l;
    try {
      l = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      l = null; // not expected: this process's own locks are caught by HELD_FILES above
    }
    if (l == null) {
      String holder = readQuietly(file);
      ch.close();
      throw new TraceLockedException(
          trace
              + ": another tokendrift process is writing this trace"
              + (holder.isEmpty() ? "" : " (pid " + holder + ")")
              + "; wait for it to finish, or give another --trace / --out");
    }
    if (!stillThere(file)) {
      l.release();
      ch.close();
      return null;
    }
    // What a killed writer left: its pid, no longer holding the lock.
    OptionalLong stale = OptionalLong.empty();
    String previous = readQuietly(file);
    if (!previous.isEmpty()) {
      try {
        stale = OptionalLong.of(Long.parseLong(previous));
      } catch (NumberFormatException e) {
        stale =
            OptionalLong.of(-1); // not ours, but a file where ours goes: taken over all the same
      }
    }
    ch.truncate(0);
    ch.write(
        ByteBuffer.wrap(
            Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)));
    ch.force(false);
    return new TraceLock(file, ch, l, stale);
  }

  /**
   * Whether the file this process has open at {@code file} is still the one there (not removed or
   * replaced): found through /proc where it exists (Linux: this process holds no other descriptor
   * of a lock file, HELD_FILES sees to that); elsewhere the race is accepted.
   */
  private static boolean stillThere(Path file) throws IOException {
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    Path self = Path.of("/proc/self/fd");
    if (!Files.isDirectory(self)) {
      return true;
    }
    try (var s = Files.list(self)) {
      for (Path fd : (Iterable<Path>) s::iterator) {
        try {
          if (Files.isSameFile(fd, file)) {
            return true;
          }
        } catch (IOException e) {
          // a descriptor closed while listing
        }
      }
    }
    return false;
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** The lock file. */
  public Path file() {
    return file;
  }

  /**
   * The process id a previous writer left in the lock file without removing it (killed with no
   * chance to clean up), or empty when the file was new; -1 when it held no process id.
   */
  public OptionalLong staleHolder() {
    return staleHolder;
  }

  /** A sentence for the log when {@link #staleHolder} is present, else empty. */
  public java.util.Optional<String> staleMessage() {
    if (staleHolder.isEmpty()) {
      return java.util.Optional.empty();
    }
    long pid = staleHolder.getAsLong();
    return java.util.Optional.of(
        file
            + ": took over a lock left by "
            + (pid < 0 ? "an unknown process" : "pid " + pid)
            + (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                ? " (that process id is in use again, but it no longer holds the lock)"
                : " (no longer running)"));
  }

  /** Releases the lock and removes its file; closing twice is harmless. */
  @Override
  public void close() {
    if (!channel.isOpen()) {
      return;
    }
    try {
      // Removed while still held: a process that opens the path now makes a new file, and one that
      // opened the old file before finds it replaced after locking (see the class comment).
      Files.deleteIfExists(file);
      lock.release();
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot release: " + e.getMessage(), e);
    } finally {
      HELD.remove(this);
      HELD_FILES.remove(file);
    }
  }

  private void closeQuietly() {
    try {
      close();
    } catch (RuntimeException e) {
      // shutting down: nothing to report to
    }
  }
}
