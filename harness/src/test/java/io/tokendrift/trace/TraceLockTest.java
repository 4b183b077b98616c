package io.tokendrift.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trace lock leaves nothing behind, refuses a second writer, and takes over a dead one's. */
class TraceLockTest {
  @TempDir Path dir;

  @Test
  void closingRemovesTheLockFile() {
    Path t = dir.resolve("t.jsonl");
    try (TraceLock l = TraceLock.acquire(t)) {
      assertThat(l.file()).exists().hasFileName("t.jsonl.lock");
      assertThat(l.staleHolder()).isEmpty();
      assertThat(l.staleMessage()).isEmpty();
      assertThatThrownBy(() -> TraceLock.acquire(t))
          .isInstanceOf(TraceLockedException.class)
          .hasMessageContaining("this process is already writing this trace");
    }
    assertThat(dir.resolve("t.jsonl.lock")).doesNotExist();
    // And the trace can be locked again at once.
    try (TraceLock again = TraceLock.acquire(t)) {
      assertThat(again.file()).exists();
    }
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void aLockFileLeftByAKilledProcessIsTakenOverWithAMessage() throws Exception {
    // A process that has ended: its pid is what a writer killed with SIGKILL leaves in the file.
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path t = dir.resolve("t.jsonl");
    Files.writeString(dir.resolve("t.jsonl.lock"), Long.toString(gone.pid()));
    try (TraceLock l = TraceLock.acquire(t)) {
      assertThat(l.staleHolder()).hasValue(gone.pid());
      assertThat(l.staleMessage())
          .hasValueSatisfying(
              m ->
                  assertThat(m)
                      .contains("took over a lock left by pid " + gone.pid())
                      .endsWith("(no longer running)"));
      assertThat(Files.readString(l.file()))
          .isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
    assertThat(dir.resolve("t.jsonl.lock")).doesNotExist();
  }
}
