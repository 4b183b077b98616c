package io.tokendrift.junit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.spec.ExperimentSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every spec setting is reachable from the builder, and refusals name the builder method. */
class StabilityBuilderTest {
  @TempDir Path dir;

  private Stability s() {
    return new Stability(dir, "builder", (k, v) -> {});
  }

  @Test
  void samplingSeedsDevicesPositionsModesAndTheReferenceReachTheSpec() throws Exception {
    Stability s =
        s().prompts("The cat sat on the", "She poured a cup of")
            .temperature(0.8)
            .topK(40)
            .topP(0.95)
            .seeds(1, 2)
            .devices(DeviceSpec.CPU, DeviceSpec.parse("gpu"))
            .devicesOptional()
            .batchSizes(3)
            .batchPositions(Stability.Position.FIRST, Stability.Position.MIDDLE)
            .batchInvariant(false, true)
            .precisions(Precision.FP32)
            .reference("batch_invariant", true)
            .reference("batch_position", 1)
            .maxTokens(4);
    Path spec = dir.resolve("spec.yaml");
    Files.writeString(spec, s.yaml());
    ExperimentSpec e = ExperimentSpec.read(spec);
    assertThat(e.decoding().temperature()).isEqualTo(0.8);
    assertThat(e.decoding().topK()).isEqualTo(40);
    assertThat(e.decoding().topP()).isEqualTo(0.95);
    assertThat(e.decoding().seeds()).containsExactly(1L, 2L);
    assertThat(e.axes().devicesOptional()).isTrue();
    assertThat(e.axes().positionsFor(3)).containsExactly(0, 1);
    assertThat(e.axes().batchInvariant()).containsExactly(false, true);
    assertThat(e.reference().batchInvariant()).isTrue();
    assertThat(e.reference().batchPosition()).isEqualTo(1);
    // cpu/gpu x 1 size x 2 positions x 2 modes = 8 points; x 2 prompts x 2 seeds.
    assertThat(e.gridSize()).isEqualTo(8 * 2 * 2);
    // And it runs: GPU points skipped (no GPU here), the sampled CPU runs compared.
    Analysis a = s.assertIdenticalOrNearTiesOnly();
    assertThat(a.runs()).hasSize(32);
  }

  @Test
  void refusalsNameTheBuilderMethod() {
    assertThatThrownBy(() -> s().temperature(-1))
        .hasMessage("Stability.temperature(-1.0): must be in [0, 100]");
    assertThatThrownBy(() -> s().topP(0)).hasMessage("Stability.topP(0.0): must be in (0, 1]");
    assertThatThrownBy(() -> s().batchSizes(2).batchRows(3))
        .hasMessage(
            "Stability.batchRows(3): must be a row of every batch size [2] (call batchSizes first)");
    assertThatThrownBy(() -> s().reference("rows", 1))
        .hasMessageStartingWith("Stability.reference(\"rows\", ...): not an axis; allowed:");
    assertThatThrownBy(() -> s().batchInvariant(true, true))
        .hasMessage("Stability.batchInvariant(...): give false, true, or both once each");
    // Settings that only clash together are refused naming the problem, not a YAML line.
    assertThatThrownBy(
            () -> s().prompts("a b").batchSizes(2).reference("batch_size", 4).assertIdentical())
        .hasMessageStartingWith("Stability: the settings do not fit together: ")
        .hasMessageContaining("is not in the grid");
  }
}
