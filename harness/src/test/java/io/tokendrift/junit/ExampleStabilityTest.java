package io.tokendrift.junit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.analysis.Analysis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** How a Java team states "these prompts are stable across batches and summation orders". */
@ExtendWith(TokenDriftExtension.class)
@Tag("numerics")
class ExampleStabilityTest {
  @Test
  void bundledModelIsStableAcrossBatchSizesAndSummationOrders(Stability stability) {
    Analysis a =
        stability
            .prompts("The capital of France is", "The cat sat on the", "She poured a cup of")
            .batchSizes(1, 2, 4, 8)
            .summations("native", "splitk:4:pairwise")
            .threads(1)
            .maxTokens(12)
            .assertIdenticalOrNearTiesOnly();
    // 7 batch points (first and last row of 1, 2, 4, 8) x 2 orders x 3 prompts, minus 3 references.
    assertThat(a.compared()).hasSize(39);
    assertThat(
            Path.of(
                "target/tokendrift/ExampleStabilityTest/"
                    + "bundledModelIsStableAcrossBatchSizesAndSummationOrders/report.html"))
        .exists();
  }

  @Test
  void theReportIsAttachedAndFailuresUseTheCheckMessageBuilder() throws Exception {
    List<String[]> entries = new ArrayList<>();
    Path dir = Files.createTempDirectory("stability");
    Stability s = new Stability(dir, "attached", (k, v) -> entries.add(new String[] {k, v}));
    s.prompts("The coin landed on")
        .batchSizes(1, 4)
        .threads(1)
        .maxTokens(6)
        .assertIdenticalOrNearTiesOnly();
    assertThat(entries).extracting(e -> e[0]).contains("tokendrift.report", "tokendrift.summary");
    assertThat(dir.resolve("report.md")).exists();
    // A spec error surfaces with its location in the generated spec.
    Stability bad = new Stability(dir.resolve("bad"), "bad", (k, v) -> {});
    assertThatThrownBy(
            () -> bad.prompts("x").summations("splitk:0:forward").assertIdenticalOrNearTiesOnly())
        .hasMessageContaining(
            "axes.summation[0]: summation 'splitk:0:forward': S (0) must be >= 1");
  }
}
