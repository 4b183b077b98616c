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
  private static final Set<String> PROMPT = SpecFields.keys("id", "text", "messages", "expect");
  private static final Set<String> EXPECT =
      SpecFields.keys("text", "regex", "choices", "answer", "extract");

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
                    f.t.at(path + ".messages") + ": " + path + ".messages",
                    expect(n.get("expect"), path + ".expect")));
            continue;
          }
          out.add(
              new Prompt(
                  id,
                  nonEmpty(f.string(n, path + ".text", null), path + ".text"),
                  f.t.at(path + ".text") + ": " + path + ".text",
                  expect(n.get("expect"), path + ".expect")));
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
   * A prompt's expected answer: a string (the exact answer) or a mapping with one of {@code text},
   * {@code regex}, {@code choices} (with {@code answer}), and optionally {@code extract}; null when
   * absent.
   */
  private io.tokendrift.trace.Expectation expect(JsonNode n, String path) {
    if (n == null) {
      return null;
    }
    if (n.isTextual()) {
      return new io.tokendrift.trace.Expectation(
          nonEmpty(n.asText(), path), null, List.of(), null, null);
    }
    if (!n.isObject()) {
      throw f.error(
          path,
          "must be the expected answer (a string) or a mapping with text, regex or choices (+"
              + " answer), and optionally extract; got "
              + f.kind(n));
    }
    f.checkKeys(n, path, EXPECT);
    List<String> choices = new ArrayList<>();
    JsonNode c = n.get("choices");
    if (c != null) {
      if (!c.isArray() || c.size() < 2) {
        throw f.error(path + ".choices", "must be a list of at least two choices");
      }
      for (int i = 0; i < c.size(); i++) {
        JsonNode v = c.get(i);
        if (!v.isTextual() && !v.isNumber()) {
          throw f.error(path + ".choices[" + i + "]", "must be a string; got " + f.kind(v));
        }
        choices.add(nonEmpty(v.asText(), path + ".choices[" + i + "]"));
      }
    }
    String text = n.has("text") ? f.string(n, path + ".text", null) : null;
    String regex = n.has("regex") ? f.string(n, path + ".regex", null) : null;
    String answer =
        n.has("answer") && n.get("answer").isNumber()
            ? n.get("answer").asText()
            : n.has("answer") ? f.string(n, path + ".answer", null) : null;
    String extract = n.has("extract") ? f.string(n, path + ".extract", null) : null;
    for (String[] r : new String[][] {{regex, ".regex"}, {extract, ".extract"}}) {
      if (r[0] != null) {
        try {
          java.util.regex.Pattern.compile(r[0]);
        } catch (java.util.regex.PatternSyntaxException e) {
          throw f.error(
              path + r[1],
              "is not a regular expression: " + e.getDescription() + " near index " + e.getIndex());
        }
      }
    }
    try {
      return new io.tokendrift.trace.Expectation(text, regex, choices, answer, extract);
    } catch (IllegalArgumentException e) {
      throw f.error(path, e.getMessage());
    }
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
