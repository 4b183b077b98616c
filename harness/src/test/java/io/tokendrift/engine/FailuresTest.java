package io.tokendrift.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;

/** A failed run's error keeps what caused it, not only the outermost exception's message. */
class FailuresTest {
  @Test
  void theCauseChainIsKeptAndAWrapperRepeatingItsCauseIsNotSaidTwice() {
    IOException root = new IOException("disk full");
    RuntimeException wrapped =
        new IllegalStateException(
            "batch 3 failed", new UncheckedIOException("writing logits", root));
    assertThat(Failures.describe(wrapped))
        .isEqualTo(
            "IllegalStateException: batch 3 failed; caused by UncheckedIOException: writing"
                + " logits; caused by IOException: disk full");
    // new X(cause) copies the cause's text as its message: said once.
    assertThat(Failures.describe(new RuntimeException(root)))
        .isEqualTo("RuntimeException: java.io.IOException: disk full");
    // Without a cause, exactly what the records said before: Class: message.
    assertThat(Failures.describe(new IllegalArgumentException("bad")))
        .isEqualTo("IllegalArgumentException: bad");
    assertThat(Failures.describe(new NullPointerException())).isEqualTo("NullPointerException");
  }
}
