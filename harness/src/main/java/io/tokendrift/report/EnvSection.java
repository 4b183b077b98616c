package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * For specs with an {@code env} axis: each process environment against its own reference (does one
 * setting of the math library make the other axes bit-identical?).
 */
final class EnvSection {
  private EnvSection() {}

  private static final String INTRO =
      "Each environment's runs ran in child processes started with its variables; here each is"
          + " compared with the run of the same prompt and seed in its own environment at ";

  static void markdown(StringBuilder b, JsonNode a) {
    JsonNode e = a.path("environments");
    if (e.isMissingNode()) {
      return;
    }
    b.append("## Within each environment\n\n");
    b.append(MarkdownReport.md(INTRO)).append(MarkdownReport.code(reference(e))).append(".\n\n");
    b.append(
        "| env | variables | runs compared | same tokens | recorded logits bit-identical | max"
            + " \\|Δlogit\\| |\n");
    b.append("|---|---|---:|---:|---:|---:|\n");
    for (JsonNode r : e.path("rows")) {
      b.append("| ")
          .append(MarkdownReport.code(r.get("env").asText()))
          .append(" | ")
          .append(MarkdownReport.md(vars(r)))
          .append(" | ")
          .append(r.get("compared").asLong())
          .append(" | ")
          .append(r.get("same_tokens").asLong())
          .append(" | ")
          .append(r.get("bit_identical").asLong())
          .append(" | ")
          .append(Format.num(r.get("max_drift")))
          .append(" |\n");
    }
    b.append('\n');
  }

  static void html(StringBuilder b, JsonNode a) {
    JsonNode e = a.path("environments");
    if (e.isMissingNode()) {
      return;
    }
    b.append("<h2>Within each environment</h2>\n<p>")
        .append(Html.text(INTRO))
        .append("<code>")
        .append(Html.text(reference(e)))
        .append("</code>.</p>\n");
    b.append("<table><tr><th>env</th><th>variables</th><th>runs compared</th>")
        .append("<th>same tokens</th><th>recorded logits bit-identical</th>")
        .append("<th>max |Δlogit|</th></tr>");
    for (JsonNode r : e.path("rows")) {
      b.append("<tr><td><code>")
          .append(Html.text(r.get("env").asText()))
          .append("</code></td><td>")
          .append(Html.text(vars(r)))
          .append("</td><td class=\"n\">")
          .append(r.get("compared").asLong())
          .append("</td><td class=\"n\">")
          .append(r.get("same_tokens").asLong())
          .append("</td><td class=\"n\">")
          .append(r.get("bit_identical").asLong())
          .append("</td><td class=\"n\">")
          .append(Html.text(Format.num(r.get("max_drift"))))
          .append("</td></tr>");
    }
    b.append("</table>\n");
  }

  private static String reference(JsonNode e) {
    String s = e.path("reference").asText();
    int at = s.lastIndexOf(" at ");
    return at < 0 ? s : s.substring(at + 4);
  }

  private static String vars(JsonNode r) {
    StringBuilder s = new StringBuilder();
    r.path("vars")
        .fields()
        .forEachRemaining(
            v ->
                s.append(s.length() == 0 ? "" : ", ")
                    .append(v.getKey())
                    .append('=')
                    .append(v.getValue().asText()));
    return s.length() == 0 ? "(inherited)" : s.toString();
  }
}
