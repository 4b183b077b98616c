package io.tokendrift.junit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Not a test of its own (its name matches no test pattern): {@link PublishedReportsTest} runs it
 * through the JUnit launcher with an output directory, as an IDE or build tool would.
 */
@ExtendWith(TokenDriftExtension.class)
class PublishedReportsFixture {
  @Test
  void stable(Stability s) {
    // What is tested is the publishing; the lenient assertion keeps it from depending on the CPU.
    s.prompts("The capital of France is")
        .maxTokens(4)
        .batchSizes(1, 2)
        .assertIdenticalOrNearTiesOnly();
  }
}
