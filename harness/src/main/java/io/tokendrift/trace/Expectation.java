package io.tokendrift.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A prompt's expected answer ({@code expect:} in a spec), as the trace header keeps it: exact text,
 * a regular expression, or one of several choices, matched on the completion's answer part.
 *
 * <p>The answer part: with {@code extract} (a regular expression), its first match in the
 * completion — group 1 when it has one — or "" when it does not match; else the completion's first
 * line, trimmed. Then: {@code text} is correct when the answer equals it once trailing {@code . , ;
 * : ! ?} are dropped from the answer; {@code regex} when it is found in the answer; {@code choices}
 * when the choice found earliest in the answer (the longest on a tie) is {@code answer}.
 *
 * @param text the exact answer, or null
 * @param regex a pattern the answer must contain, or null
 * @param choices the choices (with {@code answer}), or empty
 * @param answer the right choice, or null
 * @param extract the pattern that finds the answer in the completion, or null for its first line
 */
public record Expectation(
    String text, String regex, List<String> choices, String answer, String extract) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public Expectation {
    choices = List.copyOf(choices);
    int kinds = (text != null ? 1 : 0) + (regex != null ? 1 : 0) + (choices.isEmpty() ? 0 : 1);
    if (kinds != 1) {
      throw new IllegalArgumentException("give exactly one of text, regex, choices");
    }
    if (!choices.isEmpty() && (answer == null || !choices.contains(answer))) {
      throw new IllegalArgumentException(
          "answer must be one of the choices " + String.join(", ", choices));
    }
    if (choices.isEmpty() && answer != null) {
      throw new IllegalArgumentException("answer goes with choices");
    }
    if (regex != null) {
      Pattern.compile(regex);
    }
    if (extract != null) {
      Pattern.compile(extract);
    }
  }

  /** The answer part of a completion (see the class comment). */
  public String answerPart(String completion) {
    if (extract != null) {
      Matcher m = Pattern.compile(extract).matcher(completion);
      if (!m.find()) {
        return "";
      }
      return m.groupCount() >= 1 && m.group(1) != null ? m.group(1) : m.group();
    }
    String s = completion.strip();
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).strip();
  }

  /**
   * The answer as the run gave it, for agreement between runs (TARa): the regex's match (group 1
   * when it has one), the choice found, or the answer part; "" when none is found.
   */
  public String parsed(String completion) {
    String a = answerPart(completion);
    if (regex != null) {
      Matcher m = Pattern.compile(regex).matcher(a);
      if (!m.find()) {
        return "";
      }
      return m.groupCount() >= 1 && m.group(1) != null ? m.group(1) : m.group();
    }
    if (!choices.isEmpty()) {
      String best = "";
      int at = Integer.MAX_VALUE;
      for (String c : choices) {
        int i = a.indexOf(c);
        if (i >= 0 && (i < at || (i == at && c.length() > best.length()))) {
          best = c;
          at = i;
        }
      }
      return best;
    }
    return trimPunctuation(a);
  }

  /** Whether a completion gives the expected answer. */
  public boolean correct(String completion) {
    String p = parsed(completion);
    if (regex != null) {
      return Pattern.compile(regex).matcher(answerPart(completion)).find();
    }
    if (!choices.isEmpty()) {
      return p.equals(answer);
    }
    return p.equals(text);
  }

  private static String trimPunctuation(String s) {
    int end = s.length();
    while (end > 0 && ".,;:!?".indexOf(s.charAt(end - 1)) >= 0) {
      end--;
    }
    return s.substring(0, end).strip();
  }

  /** The canonical JSON text the trace header holds. */
  public String json() {
    ObjectNode n = JSON.createObjectNode();
    if (text != null) {
      n.put("text", text);
    }
    if (regex != null) {
      n.put("regex", regex);
    }
    if (!choices.isEmpty()) {
      choices.forEach(n.putArray("choices")::add);
      n.put("answer", answer);
    }
    if (extract != null) {
      n.put("extract", extract);
    }
    return n.toString();
  }

  /** Reads {@link #json()}'s form. */
  public static Expectation parse(String json) {
    try {
      JsonNode n = JSON.readTree(json);
      List<String> choices = new ArrayList<>();
      n.path("choices").forEach(c -> choices.add(c.asText()));
      return new Expectation(
          text(n, "text"), text(n, "regex"), choices, text(n, "answer"), text(n, "extract"));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("not an expectation: " + json, e);
    }
  }

  private static String text(JsonNode n, String field) {
    return n.hasNonNull(field) ? n.get(field).asText() : null;
  }
}
