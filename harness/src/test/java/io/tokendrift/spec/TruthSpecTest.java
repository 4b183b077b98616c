package io.tokendrift.spec;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.engine.Precision;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code truth: fp64} adds the float64 point to a local grid; a provider's truth is {@code {model:
 * M}}, the weights it serves; anything else is refused.
 */
class TruthSpecTest {
  @TempDir Path dir;

  @Test
  void truthAddsTheFloat64PointOnce() throws Exception {
    ExperimentSpec s =
        ExperimentSpec.read(
            SpecFiles.write(
                dir, "name: t\nprompts: [\"a b\"]\naxes: {batch: {sizes: [1, 4]}}\ntruth: fp64\n"));
    assertThat(s.axes().precisions()).containsExactly(Precision.FP32, Precision.FP64);
    assertThat(s.gridSize()).isEqualTo(4);
    // The reference stays the first value: float32.
    assertThat(s.referenceKey()).contains("precision=fp32");
    ExperimentSpec listed =
        ExperimentSpec.read(
            SpecFiles.write(
                dir,
                "name: t\nprompts: [\"a b\"]\naxes: {precision: [fp32, fp64]}\ntruth: fp64\n"));
    assertThat(listed.axes().precisions()).containsExactly(Precision.FP32, Precision.FP64);
  }

  @Test
  void otherTruthsAndProvidersAreRefused() throws Exception {
    assertThat(SpecFiles.refusal(dir, "name: t\nprompts: [\"a\"]\ntruth: fp32\n"))
        .contains("truth: must be fp64");
    assertThat(
            SpecFiles.refusal(
                dir,
                "name: t\nengine: {kind: openai, base_url: \"http://127.0.0.1:1/v1\", model: m}\n"
                    + "prompts: [\"a\"]\ntruth: fp64\n"))
        .contains("truth: for an HTTP provider, {model: M}: the weights it serves");
    assertThat(
            SpecFiles.refusal(
                dir,
                "name: t\nengine: {kind: openai, base_url: \"http://127.0.0.1:1/v1\", model: m}\n"
                    + "prompts: [\"a\"]\ntruth: {model: bundled}\n"))
        .contains("truth: compares the completions API's logprobs");
    assertThat(
            SpecFiles.refusal(
                dir,
                "name: t\nengine: {kind: openai, base_url: local, api: completions}\n"
                    + "prompts: [\"a\"]\ntruth: {model: nowhere}\n"))
        .contains("truth.model: no model folder at ");
    assertThat(SpecFiles.refusal(dir, "name: t\nprompts: [\"a\"]\ntruth: {model: bundled}\n"))
        .contains("for a local engine write truth: fp64");
  }
}
