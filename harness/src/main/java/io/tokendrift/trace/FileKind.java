package io.tokendrift.trace;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * What a file given to a command is, from its first bytes: a trace, an analysis, an experiment
 * spec. A command given another command's file names what it was given and what to do with it,
 * instead of a parse error.
 */
public enum FileKind {
  /** A trace: its first line is the header record. */
  TRACE(
      "a trace (trace.jsonl), not an experiment spec: `tokendrift analyze %s` reads it; `run`"
          + " takes the spec that wrote it"),
  /** An analysis.json. */
  ANALYSIS(
      "an analysis (analysis.json), not a %s: `tokendrift report %s` renders it; `analyze` takes"
          + " the trace.jsonl beside it"),
  /** An experiment spec (YAML or JSON with the spec's keys). */
  SPEC(
      "an experiment spec, not a trace: run it first (`tokendrift run %s`), then give the trace it"
          + " writes (the path `run` prints, reports/NAME/trace.jsonl by default)"),
  /** Anything else. */
  OTHER("");

  private static final Pattern SPEC_KEY =
      Pattern.compile(
          "(?m)^\\s*\"?(name|model|engine|prompts|prompts_file|decoding|axes|reference|record)\"?\\s*:");

  private final String hint;

  FileKind(String hint) {
    this.hint = hint;
  }

  /**
   * What {@code file} is, as {@code expected} puts it: e.g. "spec.yaml: an experiment spec, not a
   * trace: run it first ...".
   *
   * @param expected what the command wanted ("trace" or "spec")
   */
  public String explain(Path file, String expected) {
    return file + ": " + String.format(hint, this == ANALYSIS ? expected : file, file);
  }

  /** Sniffs {@code file}'s first 8 KB; OTHER when it cannot be read or says nothing known. */
  public static FileKind of(Path file) {
    String head;
    try (InputStream in = Files.newInputStream(file)) {
      head = new String(in.readNBytes(8192), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return OTHER;
    }
    return ofText(head);
  }

  /** What a file whose text (or its first 8 KB) is {@code head} is. */
  public static FileKind ofText(String head) {
    String first = head.stripLeading();
    if (first.startsWith("{\"type\":\"header\"")
        && first.contains("\"schema\":\"tokendrift.trace/")) {
      return TRACE;
    }
    if (first.startsWith("{")
        && head.matches("(?s).*\"schema\"\\s*:\\s*\"tokendrift\\.analysis/.*")) {
      return ANALYSIS;
    }
    return SPEC_KEY.matcher(head).find() && !first.startsWith("{\"type\"") ? SPEC : OTHER;
  }
}
