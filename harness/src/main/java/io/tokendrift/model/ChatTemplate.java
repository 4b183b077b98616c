package io.tokendrift.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns chat messages into a prompt: the model folder's own Jinja chat template ({@code
 * tokenizer_config.json}'s {@code chat_template}, rendered with Jinjava) when it has one, else the
 * plain template the bundled model's dialogues use: one {@code Role: content} line per message
 * (user → {@code Human}, assistant → {@code Assistant}, system → {@code System}), then {@code
 * Assistant:}.
 */
public final class ChatTemplate {
  /** A malformed message list: {@link #field()} names what is wrong (e.g. messages[0].role). */
  public static final class InvalidMessages extends IllegalArgumentException {
    private final String field;

    InvalidMessages(String field, String message) {
      super(message);
      this.field = field;
    }

    public String field() {
      return field;
    }
  }

  private static InvalidMessages invalid(String field, String message) {
    return new InvalidMessages(field, message);
  }

  /**
   * As Hugging Face renders chat templates: {@code trim_blocks} and {@code lstrip_blocks} on, so a
   * model's template gives the whitespace (and tokens) its reference servers give.
   */
  private static final Jinjava JINJA =
      new Jinjava(
          com.hubspot.jinjava.JinjavaConfig.newBuilder()
              .withTrimBlocks(true)
              .withLstripBlocks(true)
              .build());

  private final String template; // null: the plain one
  private final Map<String, Object> tokens;

  private ChatTemplate(String template, Map<String, Object> tokens) {
    this.template = template;
    this.tokens = tokens;
  }

  /** The template of the model folder {@code dir}. */
  public static ChatTemplate of(Path dir) {
    Path cfg = dir.resolve("tokenizer_config.json");
    if (!Files.isRegularFile(cfg)) {
      return new ChatTemplate(null, Map.of());
    }
    try {
      JsonNode n = new ObjectMapper().readTree(Files.readString(cfg));
      JsonNode t = n.get("chat_template");
      if (t == null || !t.isTextual()) {
        return new ChatTemplate(null, Map.of());
      }
      Map<String, Object> special = new LinkedHashMap<>();
      for (String k : List.of("bos_token", "eos_token")) {
        JsonNode v = n.get(k);
        special.put(k, v == null ? "" : v.isTextual() ? v.asText() : v.path("content").asText(""));
      }
      return new ChatTemplate(t.asText(), special);
    } catch (IOException e) {
      throw new IllegalArgumentException(cfg + ": not readable JSON: " + e.getMessage(), e);
    }
  }

  /** A message's text: a string, null (an assistant turn without text), or text parts joined. */
  private static String content(JsonNode c, int i) {
    if (c == null || c.isNull()) {
      return "";
    }
    if (c.isTextual()) {
      return c.asText();
    }
    if (c.isArray()) {
      StringBuilder b = new StringBuilder();
      for (JsonNode part : c) {
        if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
          throw invalid(
              "messages[" + i + "].content",
              "messages[" + i + "].content parts must be {\"type\": \"text\", \"text\": ...}");
        }
        b.append(part.get("text").asText());
      }
      return b.toString();
    }
    throw invalid(
        "messages[" + i + "].content",
        "messages[" + i + "].content must be a string or a list of text parts");
  }

  /** True when the model folder's own template is used. */
  public boolean fromModel() {
    return template != null;
  }

  /**
   * The prompt for {@code messages} (each {role, content}).
   *
   * @throws InvalidMessages naming the message that is malformed
   */
  public String render(JsonNode messages) {
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      throw invalid("messages", "'messages' must be a non-empty array");
    }
    List<Map<String, Object>> list = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String role = m.path("role").asText("");
      if (!List.of("system", "developer", "user", "assistant").contains(role)) {
        throw invalid(
            "messages[" + i + "].role",
            "messages["
                + i
                + "].role '"
                + role
                + "' is not allowed; allowed: system, developer,"
                + " user, assistant");
      }
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("role", role);
      e.put("content", content(m.get("content"), i));
      list.add(e);
    }
    if (template == null) {
      StringBuilder b = new StringBuilder();
      for (Map<String, Object> m : list) {
        String role = (String) m.get("role");
        String label =
            switch (role) {
              case "user" -> "Human";
              case "assistant" -> "Assistant";
              default -> role.substring(0, 1).toUpperCase(Locale.ROOT) + role.substring(1);
            };
        b.append(label).append(": ").append(m.get("content")).append('\n');
      }
      return b.append("Assistant:").toString();
    }
    Map<String, Object> ctx = new LinkedHashMap<>(tokens);
    ctx.put("messages", list);
    ctx.put("add_generation_prompt", true);
    return JINJA.render(template, ctx);
  }
}
