package io.tokendrift.cli;

import io.tokendrift.engine.EnvironmentException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Report files the CLI writes: checked before any work starts (an unwritable path is refused with
 * exit 3 before a run, not after it printed a verdict) and written whole or not at all (a temporary
 * file in the same folder, renamed into place).
 */
final class Outputs {
  private Outputs() {}

  /** Removes a temporary folder and everything in it (nothing when it is already gone). */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Refuses an output path whose folder is missing or not writable (null: nothing to check). */
  static void checkWritable(Path file, String flag) {
    if (file == null) {
      return;
    }
    Path dir = file.toAbsolutePath().getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw new EnvironmentException(flag + " " + file + ": the folder " + dir + " does not exist");
    }
    if (!Files.isWritable(dir)) {
      throw new EnvironmentException(
          flag + " " + file + ": the folder " + dir + " is not writable");
    }
    if (Files.isDirectory(file)) {
      throw new EnvironmentException(flag + " " + file + ": is a folder, not a file");
    }
  }

  /** Writes {@code text} to {@code file} atomically. */
  static void write(Path file, String text) throws IOException {
    // A sibling with the user's usual permissions (createTempFile would make it owner-only).
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
