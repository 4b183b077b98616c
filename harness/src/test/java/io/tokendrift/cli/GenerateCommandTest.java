package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.TestCheckpoints;
import io.tokendrift.model.TokenizerJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {
  @TempDir static Path dir;
  static Path model;

  @BeforeAll
  static void writeModel() throws Exception {
    // A random-weight GPT-2 over a 257-token byte-level vocabulary (256 bytes + EOS).
    Gpt2Config c = new Gpt2Config(257, 64, 32, 2, 4, 128, 1e-5, true, 256);
    model = TestCheckpoints.write(dir.resolve("m"), c, 3, "");
    Files.writeString(
        model.resolve("tokenizer.json"),
        TokenizerJson.build(TokenizerJson.byteAlphabet(), List.of()));
  }

  static ExplainCommandTest.Result run(String... args) {
    return ExplainCommandTest.run(args);
  }

  @Test
  void greedyGenerationIsReproducibleAndReportsEverySteps() throws Exception {
    ExplainCommandTest.Result a =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "Hi",
            "--max-tokens",
            "6",
            "--json");
    assertThat(a.code()).as(a.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(a.out());
    assertThat(j.get("tokens")).hasSize(6);
    assertThat(j.get("stop_reason").asText()).isEqualTo("max_tokens");
    assertThat(j.get("steps")).hasSize(6);
    JsonNode s0 = j.get("steps").get(0);
    assertThat(s0.get("margin").asDouble())
        .isEqualTo(
            s0.get("logit").asDouble() - s0.get("runner_up_logit").asDouble(),
            org.assertj.core.data.Offset.offset(1e-5));
    assertThat(j.get("engine").get("summation").asText()).isEqualTo("native");
    assertThat(j.get("model_sha256").asText()).hasSize(64);
    ExplainCommandTest.Result b =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "Hi",
            "--max-tokens",
            "6",
            "--json");
    assertThat(b.out()).isEqualTo(a.out());
  }

  @Test
  void knobsAreAcceptedAndRecorded() throws Exception {
    ExplainCommandTest.Result r =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "Hi",
            "--max-tokens",
            "3",
            "--batch-size",
            "4",
            "--batch-position",
            "2",
            "--summation",
            "splitk:4:pairwise",
            "--precision",
            "fp16",
            "--threads",
            "1",
            "--batch-invariant",
            "--temperature",
            "0.8",
            "--top-k",
            "20",
            "--seed",
            "5",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("engine").get("summation").asText()).isEqualTo("splitk:4:pairwise");
    assertThat(j.get("engine").get("precision").asText()).isEqualTo("fp16");
    assertThat(j.get("engine").get("batch_invariant").asText()).isEqualTo("true");
    assertThat(j.get("settings").get("batch_position").asInt()).isEqualTo(2);
    assertThat(j.get("steps").get(0).has("draw")).isTrue();
  }

  @Test
  void fp64TakesTheTrueTokenAtEveryMicroTieOfItsPathWithTheFloat64Margin() throws Exception {
    // The bundled model: float32 rounds the planted micro-ties' top two logits together (margin
    // 0 or a float32-sized step, either token); float64 keeps them apart, by the margins the
    // planting code computed in float64 (near_ties.json).
    ExplainCommandTest.Result r =
        run(
            "generate",
            "--prompt",
            "At night the sky is",
            "--precision",
            "fp64",
            "--max-tokens",
            "22",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.at("/engine/precision").asText()).isEqualTo("fp64");
    int checked = 0;
    for (io.tokendrift.model.NearTiesFile.MicroTie t :
        io.tokendrift.model.NearTiesFile.readMicro(
            io.tokendrift.model.BundledModel.dir()
                .resolve(io.tokendrift.model.BundledModel.NEAR_TIES))) {
      if (!t.prompt().equals("At night the sky is")) {
        continue;
      }
      JsonNode step = j.get("steps").get(t.step());
      assertThat(step.get("token").asInt()).as(t.id()).isEqualTo(t.top1());
      assertThat(step.get("runner_up").asInt()).as(t.id()).isEqualTo(t.top2());
      assertThat(step.get("margin").asDouble())
          .as(t.id())
          .isCloseTo(t.margin(), org.assertj.core.data.Offset.offset(1e-9));
      checked++;
    }
    assertThat(checked).as("sky's micro-ties within 22 tokens").isGreaterThanOrEqualTo(5);
  }

  @Test
  void stepsTableFlagsNearTies() {
    ExplainCommandTest.Result r =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "Hi",
            "--max-tokens",
            "4",
            "--steps",
            "--near-tie",
            "1000");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("runner-up")
        .contains("near-tie")
        .contains("[4 tokens, stop: max_tokens");
  }

  @Test
  void badInputAndMissingGpuHaveTheirExitCodes() {
    ExplainCommandTest.Result gpu =
        run("generate", "--model", model.toString(), "--prompt", "Hi", "--device", "gpu");
    int gpus = ai.djl.engine.Engine.getEngine("PyTorch").getGpuCount();
    if (gpus == 0) {
      assertThat(gpu.code()).isEqualTo(3);
      assertThat(gpu.err()).contains("device gpu:0 was asked for but this machine has 0 GPU(s)");
    }
    ExplainCommandTest.Result bf =
        run("generate", "--model", model.toString(), "--prompt", "Hi", "--precision", "bf16");
    assertThat(bf.code()).isEqualTo(2);
    assertThat(bf.err()).contains("DJL 0.36 aborts the JVM on BFLOAT16");
    ExplainCommandTest.Result pos =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "Hi",
            "--batch-size",
            "2",
            "--batch-position",
            "2");
    assertThat(pos.code()).isEqualTo(2);
    assertThat(pos.err()).contains("--batch-position (2) must be in [0, 1] for --batch-size 2");
    ExplainCommandTest.Result missing =
        run("generate", "--model", dir.resolve("nope").toString(), "--prompt", "Hi");
    // A model that is not on this machine is an environment problem (3); a malformed one is bad
    // input (2).
    assertThat(missing.code()).isEqualTo(3);
    assertThat(missing.err()).contains("no model here");
    String longPrompt = "x".repeat(64);
    ExplainCommandTest.Result tooLong =
        run("generate", "--model", model.toString(), "--prompt", longPrompt);
    assertThat(tooLong.code()).isEqualTo(2);
    assertThat(tooLong.err()).contains("has 64 tokens; the model's context holds 64");
  }

  @Test
  void generationStopsWhenTheContextIsFull() throws Exception {
    ExplainCommandTest.Result r =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "x".repeat(60),
            "--max-tokens",
            "50",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("stop_reason").asText()).isEqualTo("context_full");
    // Four tokens fill positions 60..63; the fifth is predicted from position 63 and cannot be fed.
    assertThat(j.get("tokens").size()).isEqualTo(5);
  }
}
