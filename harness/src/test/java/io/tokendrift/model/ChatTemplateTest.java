package io.tokendrift.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
  static final ObjectMapper M = new ObjectMapper();
  @TempDir Path dir;

  @Test
  void withoutATemplateTheBundledModelsDialogueFormatIsUsed() throws Exception {
    ChatTemplate t = ChatTemplate.of(dir);
    assertThat(t.fromModel()).isFalse();
    assertThat(
            t.render(
                M.readTree(
                    "[{\"role\": \"system\", \"content\": \"Be brief.\"},"
                        + " {\"role\": \"user\", \"content\": \"hello\"}]")))
        .isEqualTo("System: Be brief.\nHuman: hello\nAssistant:");
  }

  @Test
  void aModelsJinjaTemplateIsRenderedWithItsSpecialTokens() throws Exception {
    // The shape of Qwen2's ChatML template, abridged.
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        M.writeValueAsString(
            java.util.Map.of(
                "eos_token",
                "<|im_end|>",
                "chat_template",
                "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                    + "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
                    + "{% endif %}")));
    ChatTemplate t = ChatTemplate.of(dir);
    assertThat(t.fromModel()).isTrue();
    assertThat(t.render(M.readTree("[{\"role\": \"user\", \"content\": \"hi\"}]")))
        .isEqualTo("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void malformedMessagesAreRefusedNamingTheField() throws Exception {
    ChatTemplate t = ChatTemplate.of(dir);
    assertThatThrownBy(() -> t.render(M.readTree("[{\"role\": \"robot\", \"content\": \"x\"}]")))
        .isInstanceOf(ChatTemplate.InvalidMessages.class)
        .hasMessageContaining("messages[0].role 'robot' is not allowed");
    assertThatThrownBy(() -> t.render(M.readTree("[]")))
        .hasMessageContaining("'messages' must be a non-empty array");
  }
}
