package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.GroupSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * For specs varying a mode axis (batch_invariant, env, engine, precision, kv_cache): each value as
 * a group with its own reference and verdict, and the distinct logit sequences each prompt had in
 * it — the answer to the question such an experiment asks, which one shared reference cannot give.
 */
final class GroupSection {
  private GroupSection() {}

  /** One sentence per varied mode axis, for the summary; "" when there is none. */
  static String sentences(Analysis a) {
    StringBuilder b = new StringBuilder();
    for (GroupSummary g : a.groups()) {
      List<String> parts = new ArrayList<>();
      for (GroupSummary.Value v : g.values()) {
        parts.add(g.axis() + "=" + v.value() + ": " + describe(v));
      }
      b.append(" Within each ")
          .append(g.axis())
          .append(" group, against its own reference — ")
          .append(String.join("; ", parts))
          .append('.');
    }
    return b.toString();
  }

  /** "1 distinct logit sequence per prompt across its 12 points (8/8 prompts), bit-identical". */
  static String describe(GroupSummary.Value v) {
    String distinct =
        v.distinctMin() == v.distinctMax()
            ? Integer.toString(v.distinctMin())
            : v.distinctMin() + "–" + v.distinctMax();
    return String.format(
        Locale.ROOT,
        "%s distinct logit sequence%s per prompt across its %d point%s (%d/%d prompts with one), %s",
        distinct,
        v.distinctMax() == 1 ? "" : "s",
        v.points(),
        v.points() == 1 ? "" : "s",
        v.stablePrompts(),
        v.prompts(),
        verdict(v.verdict().label(), v.compared(), v.sameTokens()));
  }

  private static String verdict(String label, long compared, long same) {
    return switch (label) {
      case "bit-identical" -> "every run bit-identical to its reference";
      case "same-tokens" -> "same tokens as its reference, other logit bits";
      case "diverged" -> (compared - same) + " of " + compared + " runs chose other tokens";
      default -> "no run compared";
    };
  }

  static void markdown(StringBuilder b, JsonNode a) {
    JsonNode groups = a.path("groups");
    if (!groups.isArray()) {
      return;
    }
    for (JsonNode g : groups) {
      if (g.get("axis").asText().equals("env")) {
        continue; // the environments' own section shows them, with their variables
      }
      b.append("## Within each ")
          .append(MarkdownReport.md(g.get("axis").asText()))
          .append(" group\n\n");
      b.append(MarkdownReport.md(intro(g))).append("\n\n");
      b.append(
          "| value | verdict | points | runs compared | same tokens | bit-identical | max"
              + " \\|Δlogit\\| | distinct logit sequences per prompt | prompts with one |\n");
      b.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
      for (JsonNode v : g.path("values")) {
        b.append("| `")
            .append(MarkdownReport.code(v.get("value").asText()))
            .append("` | ")
            .append(v.get("verdict").asText())
            .append(" | ")
            .append(v.get("points").asLong())
            .append(" | ")
            .append(v.get("compared").asLong())
            .append(" | ")
            .append(v.get("same_tokens").asLong())
            .append(" | ")
            .append(v.get("bit_identical").asLong())
            .append(" | ")
            .append(Format.num(v.get("max_drift")))
            .append(" | ")
            .append(range(v))
            .append(" | ")
            .append(v.get("prompts_with_one_sequence").asLong())
            .append('/')
            .append(v.get("prompts").asLong())
            .append(" |\n");
      }
      b.append('\n');
    }
  }

  static void html(StringBuilder b, JsonNode a) {
    JsonNode groups = a.path("groups");
    if (!groups.isArray()) {
      return;
    }
    for (JsonNode g : groups) {
      if (g.get("axis").asText().equals("env")) {
        continue; // the environments' own section shows them, with their variables
      }
      b.append("<h2>Within each ")
          .append(Html.text(g.get("axis").asText()))
          .append(" group</h2>\n<p>")
          .append(Html.text(intro(g)))
          .append("</p>\n<table><tr><th>value</th><th>verdict</th><th>points</th>")
          .append("<th>runs compared</th><th>same tokens</th><th>bit-identical</th>")
          .append("<th>max |Δlogit|</th><th>distinct logit sequences per prompt</th>")
          .append("<th>prompts with one</th></tr>");
      for (JsonNode v : g.path("values")) {
        b.append("<tr><td><code>")
            .append(Html.text(v.get("value").asText()))
            .append("</code></td><td>")
            .append(Html.text(v.get("verdict").asText()))
            .append("</td><td class=\"n\">")
            .append(v.get("points").asLong())
            .append("</td><td class=\"n\">")
            .append(v.get("compared").asLong())
            .append("</td><td class=\"n\">")
            .append(v.get("same_tokens").asLong())
            .append("</td><td class=\"n\">")
            .append(v.get("bit_identical").asLong())
            .append("</td><td class=\"n\">")
            .append(Html.text(Format.num(v.get("max_drift"))))
            .append("</td><td class=\"n\">")
            .append(Html.text(range(v)))
            .append("</td><td class=\"n\">")
            .append(v.get("prompts_with_one_sequence").asLong())
            .append('/')
            .append(v.get("prompts").asLong())
            .append("</td></tr>");
      }
      b.append("</table>\n");
    }
  }

  private static String intro(JsonNode g) {
    String ref = g.path("reference").asText();
    int at = ref.lastIndexOf(" at ");
    return "Each value of "
        + g.get("axis").asText()
        + " is a group of its own: its runs are compared with the run of the same prompt and seed"
        + " in the same group at "
        + (at < 0 ? ref : ref.substring(at + 4))
        + ", and each prompt's distinct logit sequences are counted across the group's points"
        + " (the digest of every step's whole logit vector; no reference needed).";
  }

  private static String range(JsonNode v) {
    long lo = v.get("distinct_sequences_min").asLong();
    long hi = v.get("distinct_sequences_max").asLong();
    return lo == hi ? Long.toString(lo) : lo + "–" + hi;
  }
}
