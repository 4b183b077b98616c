package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.model.LlamaCheckpoints;
import io.tokendrift.spec.ExperimentSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A downloaded-style Llama-family folder (random weights, the bundled tokenizer, a ChatML chat
 * template as Qwen ships it) through the commands: generate, generate --chat, spec prompts given as
 * messages, and the refusal of an unsupported architecture.
 */
class LlamaFolderCommandTest {
  @TempDir static Path dir;
  static Path model;

  /** Qwen2.5's template, cut to what the messages here use (system, user, generation prompt). */
  static final String CHATML =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' +"
          + " message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
          + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  @BeforeAll
  static void writeModel() throws Exception {
    model = dir.resolve("qwen");
    LlamaCheckpoints.write(model, LlamaCheckpoints.QWEN2, 5);
    LlamaCheckpoints.copyBundledTokenizer(model, LlamaCheckpoints.QWEN2);
    ObjectMapper m = new ObjectMapper();
    Files.writeString(
        model.resolve("tokenizer_config.json"),
        m.writeValueAsString(m.createObjectNode().put("chat_template", CHATML)));
  }

  @Test
  void generateRunsALlamaFamilyFolderAndItsChatTemplate() throws Exception {
    ExplainCommandTest.Result plain =
        ExplainCommandTest.run(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "The cat",
            "--max-tokens",
            "5",
            "--json");
    assertThat(plain.code()).as(plain.err()).isZero();
    JsonNode p = new ObjectMapper().readTree(plain.out());
    assertThat(p.get("tokens")).hasSize(5);
    assertThat(p.get("engine").get("engine").asText()).isEqualTo("djl-qwen2");

    ExplainCommandTest.Result chat =
        ExplainCommandTest.run(
            "generate",
            "--model",
            model.toString(),
            "--chat",
            "--system",
            "Be brief.",
            "--prompt",
            "Hi",
            "--max-tokens",
            "3",
            "--json");
    assertThat(chat.code()).as(chat.err()).isZero();
    JsonNode c = new ObjectMapper().readTree(chat.out());
    assertThat(c.get("prompt").asText())
        .isEqualTo(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n");
    assertThat(c.get("chat_template").asText()).isEqualTo("model");

    ExplainCommandTest.Result orphan =
        ExplainCommandTest.run("generate", "--system", "x", "--prompt", "Hi");
    assertThat(orphan.code()).isEqualTo(2);
    assertThat(orphan.err()).contains("--system needs --chat");
  }

  @Test
  void specPromptsGivenAsMessagesAreRenderedWithTheFoldersTemplate() throws Exception {
    Path spec = dir.resolve("chat.yaml");
    Files.writeString(
        spec,
        "name: chat\nmodel: qwen\nprompts:\n"
            + "  - id: hi\n    messages: [{role: user, content: Hi}]\n"
            + "  - text: plain text\n");
    ExperimentSpec s = ExperimentSpec.read(spec);
    assertThat(s.prompts().get(0).text())
        .isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    assertThat(s.prompts().get(1).text()).isEqualTo("plain text");

    Files.writeString(
        spec, "name: chat\nmodel: qwen\nprompts:\n  - messages: [{role: robot, content: Hi}]\n");
    assertThat(refusal(spec)).contains("prompts[0].messages[0].role: ").contains("'robot'");
    Files.writeString(
        spec, "name: chat\nmodel: nowhere\nprompts:\n  - messages: [{role: user, content: Hi}]\n");
    assertThat(refusal(spec))
        .contains("prompts[0].messages: needs the model folder's chat template");
  }

  @Test
  void anUnsupportedArchitectureIsRefusedByNameWithExitTwo() throws Exception {
    Path falcon = dir.resolve("falcon");
    Files.createDirectories(falcon);
    Files.writeString(falcon.resolve("config.json"), "{\"model_type\": \"falcon\"}");
    Files.writeString(falcon.resolve("model.safetensors"), "");
    Files.copy(model.resolve("tokenizer.json"), falcon.resolve("tokenizer.json"));
    ExplainCommandTest.Result r =
        ExplainCommandTest.run("generate", "--model", falcon.toString(), "--prompt", "Hi");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("model_type 'falcon'").contains("llama, mistral, qwen2, qwen3");
  }

  private static String refusal(Path spec) {
    try {
      ExperimentSpec.read(spec);
    } catch (RuntimeException e) {
      return e.getMessage();
    }
    throw new AssertionError("accepted");
  }
}
