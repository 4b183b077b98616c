package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A baseline recorded from an uncommitted tree is recorded, with a warning saying why it matters.
 */
class BaselineDirtyTreeTest {
  @Test
  void aDirtyCommitGetsTheWarningAndACleanOneNone() {
    assertThat(BaselineCommand.dirtyWarning("154fca8-dirty"))
        .hasValue(
            "warning: recorded from a checkout with uncommitted changes (tokendrift.commit"
                + " 154fca8-dirty): no commit reproduces this baseline; commit first, then record"
                + " again");
    assertThat(BaselineCommand.dirtyWarning("154fca8")).isEmpty();
    assertThat(BaselineCommand.dirtyWarning("unknown")).isEmpty();
  }
}
