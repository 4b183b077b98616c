package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.TreeMap;

/**
 * The report's per-prompt table: unique completions per prompt (the most any one seed gave) and how
 * often its repeats agreed; prompts whose ids read {@code GROUP/NAME} are also rolled up by group,
 * which is how a suite states its modes (e.g. SGLang's single, mixed and prefix).
 */
final class PromptSection {
  private PromptSection() {}

  /** Group → {prompts, prompts with more than one completion, most completions of one prompt}. */
  static Map<String, long[]> groups(JsonNode a) {
    Map<String, long[]> g = new TreeMap<>();
    for (JsonNode p : a.path("prompts")) {
      String id = p.get("id").asText();
      int slash = id.indexOf('/');
      if (slash <= 0) {
        continue;
      }
      long[] v = g.computeIfAbsent(id.substring(0, slash), k -> new long[3]);
      long u = p.get("unique_completions").asLong();
      v[0]++;
      v[1] += u > 1 ? 1 : 0;
      v[2] = Math.max(v[2], u);
    }
    return g;
  }

  static void markdown(StringBuilder b, JsonNode a) {
    JsonNode prompts = a.path("prompts");
    if (prompts.isEmpty()) {
      return;
    }
    b.append("## By prompt\n\n");
    Map<String, long[]> groups = groups(a);
    if (!groups.isEmpty()) {
      b.append(
          "| group | prompts | with more than one completion | most completions of one prompt |\n");
      b.append("|---|---:|---:|---:|\n");
      groups.forEach(
          (k, v) ->
              b.append("| ")
                  .append(MarkdownReport.code(k))
                  .append(" | ")
                  .append(v[0])
                  .append(" | ")
                  .append(v[1])
                  .append(" | ")
                  .append(v[2])
                  .append(" |\n"));
      b.append('\n');
    }
    b.append(
        "| prompt | runs | unique completions | repeats all identical (share of points, 95% CI) |\n");
    b.append("|---|---:|---:|---|\n");
    for (JsonNode p : prompts) {
      b.append("| ")
          .append(MarkdownReport.code(p.get("id").asText()))
          .append(" | ")
          .append(p.get("runs").asLong())
          .append(" | ")
          .append(p.get("unique_completions").asLong())
          .append(" | ")
          .append(MarkdownReport.md(Format.proportion(p.get("tarr"))))
          .append(" |\n");
    }
    b.append('\n');
  }

  static void html(StringBuilder b, JsonNode a) {
    JsonNode prompts = a.path("prompts");
    if (prompts.isEmpty()) {
      return;
    }
    b.append("<h2>By prompt</h2>\n");
    Map<String, long[]> groups = groups(a);
    if (!groups.isEmpty()) {
      b.append("<table><tr><th>group</th><th>prompts</th><th>with more than one completion</th>")
          .append("<th>most completions of one prompt</th></tr>");
      groups.forEach(
          (k, v) ->
              b.append("<tr><td><code>")
                  .append(Html.text(k))
                  .append("</code></td><td class=\"n\">")
                  .append(v[0])
                  .append("</td><td class=\"n\">")
                  .append(v[1])
                  .append("</td><td class=\"n\">")
                  .append(v[2])
                  .append("</td></tr>"));
      b.append("</table>\n");
    }
    b.append("<table><tr><th>prompt</th><th>runs</th><th>unique completions</th>")
        .append("<th>repeats all identical (share of points, 95% CI)</th></tr>");
    for (JsonNode p : prompts) {
      b.append("<tr><td><code>")
          .append(Html.text(p.get("id").asText()))
          .append("</code></td><td class=\"n\">")
          .append(p.get("runs").asLong())
          .append("</td><td class=\"n\">")
          .append(p.get("unique_completions").asLong())
          .append("</td><td>")
          .append(Html.text(Format.proportion(p.get("tarr"))))
          .append("</td></tr>");
    }
    b.append("</table>\n");
  }
}
