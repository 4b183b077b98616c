package io.tokendrift.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.engine.RemoteReply;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How many of a wave's requests a run was really in flight with, from their attempts' times. */
class InFlightTest {
  /** A reply whose last attempt ran from {@code sent} to {@code done} (0, 0: never sent). */
  private static RemoteReply at(long sent, long done) {
    return RemoteReply.failed("x", 0, 1, 0).after(List.of(), sent, done);
  }

  @Test
  void aWaveSentTogetherIsInFlightTogether() {
    // Four requests started within a moment of each other, ending at different times.
    assertThat(WaveRecords.inFlight(List.of(at(1, 50), at(2, 90), at(3, 20), at(4, 70))))
        .containsExactly(4, 4, 4, 4);
  }

  @Test
  void aRetrySentAfterTheOthersHadTheirAnswersRanAlone() {
    // The first request's last attempt (a retry) starts at 100, after the others ended.
    assertThat(WaveRecords.inFlight(List.of(at(100, 130), at(1, 30), at(2, 40))))
        .containsExactly(1, 2, 2);
  }

  @Test
  void overlapsThatNeverMeetDoNotAddUp() {
    // A spans B and C, which never overlap each other: at most two are ever in flight together.
    // (Counting every request that overlaps A would say 3.)
    assertThat(WaveRecords.inFlight(List.of(at(1, 100), at(10, 20), at(30, 40))))
        .containsExactly(2, 2, 2);
  }

  @Test
  void aRequestNeverSentCountsForNobodyAndHasNoCountOfItsOwn() {
    assertThat(WaveRecords.inFlight(List.of(at(1, 50), at(0, 0), at(2, 60))))
        .containsExactly(2, -1, 2);
  }
}
