package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.spec.ExperimentSpec.Prompt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a spec's prompts: inline strings, {@code {id, text}} or {@code {id, messages}} (rendered
 * with the model folder's chat template), or one per line of {@code prompts_file}.
 */
final class PromptReader {
  private static final Set<String> PROMPT = SpecFields.keys("id", "text", "messages");

  private final SpecFields f;

  PromptReader(SpecFields f) {
    this.f = f;
  }

  /**
   * Reads {@code prompts} and {@code prompts_file}.
   *
   * @param model the spec's model (a chat prompt is rendered with its template)
   * @param remote whether an HTTP provider answers (it applies its own template)
   */
  List<Prompt> read(JsonNode root, String model, boolean remote) {
    List<Prompt> out = new ArrayList<>();
    JsonNode inline = root.get("prompts");
    JsonNode file = root.get("prompts_file");
    if (inline == null && file == null) {
      throw f.error("", "missing key 'prompts' (a list) or 'prompts_file' (one prompt per line)");
    }
    if (inline != null) {
      if (!inline.isArray() || inline.isEmpty()) {
        throw f.error("prompts", "must be a non-empty list of strings or {id, text} mappings");
      }
      for (int i = 0; i < inline.size(); i++) {
        JsonNode n = inline.get(i);
        String path = "prompts[" + i + "]";
        if (n.isTextual()) {
          out.add(
              new Prompt(
                  "p" + (out.size() + 1), nonEmpty(n.asText(), path), f.t.at(path) + ": " + path));
        } else if (n.isObject()) {
          f.checkKeys(n, path, PROMPT);
          String id = f.string(n, path + ".id", "p" + (out.size() + 1));
          if (n.has("messages")) {
            if (n.has("text")) {
              throw f.error(path, "give text or messages, not both");
            }
            out.add(
                new Prompt(
                    id,
                    chat(n.get("messages"), path + ".messages", model, remote),
                    f.t.at(path + ".messages") + ": " + path + ".messages"));
            continue;
          }
          out.add(
              new Prompt(
                  id,
                  nonEmpty(f.string(n, path + ".text", null), path + ".text"),
                  f.t.at(path + ".text") + ": " + path + ".text"));
        } else {
          throw f.error(path, "must be a string or a mapping {id, text}; got " + f.kind(n));
        }
      }
    }
    if (file != null) {
      if (!file.isTextual()) {
        throw f.error("prompts_file", "must be a file path (a string); got " + f.kind(file));
      }
      Path p = f.t.file.toAbsolutePath().getParent().resolve(file.asText());
      List<String> lines;
      try {
        lines = Files.readAllLines(p);
      } catch (IOException e) {
        throw f.error("prompts_file", "cannot read " + p + ": " + e.getMessage());
      }
      for (int i = 0; i < lines.size(); i++) {
        String l = lines.get(i);
        if (!l.isBlank() && !l.startsWith("#")) {
          out.add(new Prompt("p" + (out.size() + 1), l, p + ":" + (i + 1) + ": prompt"));
        }
      }
      if (out.isEmpty()) {
        throw f.error("prompts_file", p + " holds no prompt (blank lines and # comments skipped)");
      }
    }
    Set<String> ids = new HashSet<>();
    Set<String> texts = new HashSet<>();
    for (int i = 0; i < out.size(); i++) {
      Prompt p = out.get(i);
      if (!ids.add(p.id())) {
        throw f.error("prompts", "prompt id '" + p.id() + "' is used twice; ids must be unique");
      }
      if (!texts.add(p.text())) {
        throw f.error("prompts", "prompt '" + p.text() + "' is listed twice");
      }
    }
    return List.copyOf(out);
  }

  /**
   * A prompt given as chat messages: rendered now with the model folder's chat template, so the
   * trace and the spec's hash hold the exact text the model reads.
   */
  private String chat(JsonNode messages, String path, String model, boolean remote) {
    if (remote) {
      throw f.error(
          path,
          "messages are rendered with a local model folder's chat template; for an HTTP provider"
              + " give text (the provider applies its own template)");
    }
    Path dir = ExperimentSpec.modelFolder(model, f.t.file);
    if (dir == null) {
      dir = io.tokendrift.model.BundledModel.dir();
    }
    if (!Files.isDirectory(dir)) {
      throw f.error(
          path, "needs the model folder's chat template, but " + dir + " is not a folder");
    }
    try {
      return io.tokendrift.model.ChatTemplate.of(dir).render(messages);
    } catch (io.tokendrift.model.ChatTemplate.InvalidMessages e) {
      throw f.error(path + e.field().substring("messages".length()), e.getMessage());
    } catch (RuntimeException e) {
      throw f.error(path, "the chat template of " + dir + " cannot render them: " + e.getMessage());
    }
  }

  private String nonEmpty(String s, String path) {
    if (s.isEmpty()) {
      throw f.error(path, "a prompt must not be empty");
    }
    return s;
  }
}
