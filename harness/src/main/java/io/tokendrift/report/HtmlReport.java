package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * {@code report.html}: one self-contained file — inline CSS and SVG, no script, no request to any
 * host — with the headline, charts, a token-level view of each divergent run beside its reference,
 * the environment manifest and a methods section. All prompt and model text is escaped.
 */
public final class HtmlReport {
  private HtmlReport() {}

  static final String CSS =
      """
      body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
        max-width:1340px;color:#222;padding:0 16px}
      h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
      .summary{font-size:16px;background:#f4f7fb;border-left:4px solid #3b6ea5;padding:10px 14px}
      table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;
        text-align:left;vertical-align:top}th{background:#f6f6f6}td.n{text-align:right}
      .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));
        gap:16px}
      .charts>*{min-width:0}
      svg.chart{background:#fff;border:1px solid #e3e3e3;font-size:11px;width:100%;height:auto;
        display:block}
      code{overflow-wrap:anywhere}
      .empty{border:1px dashed #ccc;padding:12px;color:#555;align-self:start}
      table{max-width:100%;overflow-x:auto;display:block}
      @media print{body{max-width:none;margin:0}.charts{display:block}
        svg.chart{break-inside:avoid;page-break-inside:avoid;margin:8px 0;max-width:18cm}
        .run{break-inside:avoid}h2{break-after:avoid}}
      svg .title{font-size:13px;font-weight:600}svg .label{font-size:12px}svg .tick{fill:#444}
      svg .axis{stroke:#555;stroke-width:1}svg .whisker{stroke:#222;stroke-width:1.2;fill:none}
      .run{border:1px solid #ddd;margin:10px 0;padding:8px 10px}
      .run h3{font-size:14px;margin:0 0 6px}.explained{color:#4f7a2c}.unexplained{color:#b02a2a}
      .toks{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;line-height:1.9}
      .tok{padding:1px 0;border-radius:2px}.tok.tie{outline:1px dashed #b02a2a}
      .tok.div{background:#ffd54d !important;outline:2px solid #b58900}
      .tok[title]{cursor:help}
      .muted{color:#666}.kv td:first-child{font-family:ui-monospace,monospace;color:#444}
      """;

  public static String render(JsonNode a) {
    StringBuilder b = new StringBuilder();
    String name = a.get("experiment").asText();
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .append("<title>tokendrift: ")
        .append(Html.text(name))
        .append("</title><style>")
        .append(CSS)
        .append("</style></head><body>\n");
    b.append("<h1>tokendrift report: ").append(Html.text(name)).append("</h1>\n");
    b.append("<p class=\"muted\">reference point <code>")
        .append(Html.text(a.get("reference").asText()))
        .append("</code></p>\n");
    b.append("<p class=\"summary\" dir=\"auto\">")
        .append(Html.text(a.get("summary").asText()))
        .append("</p>\n");
    headline(b, a.get("headline"));
    HtmlCharts.render(b, a);
    ProviderSection.html(b, a);
    axes(b, a);
    TruthSection.html(b, a);
    AnswersSection.html(b, a);
    GroupSection.html(b, a);
    EnvSection.html(b, a);
    PromptSection.html(b, a);
    divergences(b, a);
    manifest(b, a);
    methods(b, a);
    b.append("</body></html>\n");
    return b.toString();
  }

  private static void headline(StringBuilder b, JsonNode h) {
    b.append("<table><tr><th>runs</th><th>compared</th><th>identical (95% CI)</th>")
        .append("<th>diverged</th><th>explained</th><th>unexplained</th>")
        .append("<th>median Div_Index</th><th>TARr@")
        .append(h.get("tarr_n").asInt())
        .append("</th><th>unique completions (max)</th></tr><tr>");
    cell(b, h.get("runs").asText(), true);
    cell(b, h.get("compared").asText(), true);
    cell(b, Format.proportion(h.get("identical")), false);
    cell(b, h.get("diverged").asText(), true);
    cell(b, h.get("explained").asText(), true);
    cell(b, h.get("unexplained").asText(), true);
    cell(b, Format.num(h.get("median_div_index")), true);
    cell(b, Format.proportion(h.get("tarr")), false);
    cell(b, h.get("unique_completions_max").asText(), true);
    b.append("</tr></table>\n");
  }

  private static void cell(StringBuilder b, String s, boolean number) {
    b.append(number ? "<td class=\"n\">" : "<td>").append(Html.text(s)).append("</td>");
  }

  private static void axes(StringBuilder b, JsonNode a) {
    b.append("<h2>By axis</h2>\n");
    for (JsonNode ax : a.get("axes")) {
      JsonNode s = ax.get("single_axis");
      b.append("<h3>").append(Html.text(ax.get("axis").asText())).append("</h3>");
      if (ax.get("values").isEmpty()) {
        b.append("<p class=\"muted\">Compared at the reference point only: ")
            .append(s.get("runs").asInt())
            .append(" runs, diverged ")
            .append(Html.text(Format.proportion(s.get("diverged"))))
            .append(", noise floor ")
            .append(Html.text(Format.num(s.get("noise_floor").get("value"))))
            .append(".</p>\n");
        continue;
      }
      b.append("<table><tr><th>value</th><th>runs</th><th>diverged (95% CI)</th>")
          .append("<th>explained</th><th>unexplained</th></tr>");
      for (JsonNode v : ax.get("values")) {
        b.append("<tr>");
        boolean ref = ax.get("reference_value").asText().equals(v.get("value").asText());
        cell(b, v.get("value").asText() + (ref ? " (reference)" : ""), false);
        cell(b, v.get("runs").asText(), true);
        cell(b, Format.proportion(v.get("diverged")), false);
        cell(b, v.get("explained").asText(), true);
        cell(b, v.get("unexplained").asText(), true);
        b.append("</tr>");
      }
      b.append("</table><p class=\"muted\">")
          .append(Html.text(ax.get("test").get("name").asText()))
          .append(" p = ")
          .append(Html.text(Format.num(ax.get("test").get("p"))))
          .append("; this axis alone: ")
          .append(s.get("runs").asInt())
          .append(" runs, diverged ")
          .append(Html.text(Format.proportion(s.get("diverged"))))
          .append(", noise floor ")
          .append(Html.text(Format.num(s.get("noise_floor").get("value"))))
          .append(" (upper 95% bound ")
          .append(Html.text(Format.num(s.get("noise_floor").get("high"))))
          .append(")</p>\n");
    }
  }

  private static void divergences(StringBuilder b, JsonNode a) {
    b.append("<h2>Divergent runs beside their reference</h2>\n");
    b.append(
        "<p class=\"muted\">Tokens are shaded by the reference's top-1/top-2 margin (darker ="
            + " closer to a tie); dashed: near-tie; yellow: the first divergence. Hover a reference"
            + " token for its margin and top alternatives with their "
            + Format.unit(a)
            + "s.</p>\n");
    double nearTie = a.get("settings").get("near_tie_nats").asDouble();
    int shown = 0;
    for (JsonNode d : a.get("divergences")) {
      JsonNode c = d.get("context");
      if (c == null) {
        continue;
      }
      shown++;
      divergence(b, a, d, c, nearTie);
    }
    if (shown == 0) {
      b.append("<p>No run diverged from its reference.</p>\n");
    }
  }

  /** One divergent run: its reference's tokens shaded by margin, then its own tokens. */
  private static void divergence(
      StringBuilder b, JsonNode a, JsonNode d, JsonNode c, double nearTie) {
    String verdict = d.get("verdict").asText();
    int at = d.get("div_index").asInt();
    b.append("<div class=\"run\"><h3><span class=\"")
        .append(Html.attr(verdict))
        .append("\">")
        .append(Html.text(verdict))
        .append("</span> · prompt <code dir=\"auto\">")
        .append(Html.text(d.get("prompt_id").asText()))
        .append("</code> · ")
        .append(Html.text(d.get("axes").asText().isEmpty() ? "repeat" : d.get("axes").asText()))
        .append(" · step ")
        .append(at)
        .append(" · margin ")
        .append(Html.text(Format.num(d.get("ref_margin"))))
        .append(" vs threshold ")
        .append(Html.text(Format.num(d.get("threshold"))))
        .append(Html.text(MarkdownReport.planted(a, d).replace("`", "")))
        .append("</h3>");
    b.append("<div class=\"toks\" dir=\"auto\"><b>reference</b> ");
    JsonNode toks = c.get("ref_tokens");
    for (int i = 0; i < toks.size(); i++) {
      JsonNode t = toks.get(i);
      double m = t.get("margin").isNull() ? 99 : t.get("margin").asDouble();
      String cls = "tok" + (m <= nearTie ? " tie" : "") + (i == at ? " div" : "");
      StringBuilder tip = new StringBuilder("margin " + Format.num(m));
      for (JsonNode alt : t.get("top")) {
        tip.append('\n')
            .append('"')
            .append(alt.get("text").asText())
            .append("\" ")
            .append(Format.logit(alt.get("logit")));
      }
      b.append("<span class=\"")
          .append(cls)
          .append("\" style=\"background:")
          .append(marginShade(m))
          .append("\" title=\"")
          .append(Html.attr(tip.toString()))
          .append("\">")
          .append(Html.text(t.get("text").asText()))
          .append("</span>");
    }
    b.append("\n<br><b>this run</b> ");
    JsonNode run = c.get("run_tokens");
    for (int i = 0; i < run.size(); i++) {
      b.append("<span class=\"tok")
          .append(i == at ? " div" : "")
          .append("\">")
          .append(Html.text(run.get(i).get("text").asText()))
          .append("</span>");
    }
    b.append("</div></div>\n");
  }

  /** Margin 0 → strong orange, margin ≥ 4 nats → white. */
  static String marginShade(double m) {
    double t = Math.min(1, Math.max(0, Math.log10(Math.max(m, 1e-6)) + 6) / 6.6);
    int g = (int) Math.round(170 + 85 * t);
    int bl = (int) Math.round(90 + 165 * t);
    return String.format(Locale.ROOT, "#ff%02x%02x", g, bl);
  }

  private static void manifest(StringBuilder b, JsonNode a) {
    b.append("<h2>Environment</h2><table class=\"kv\">");
    Iterator<Map.Entry<String, JsonNode>> it = a.get("manifest").fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      b.append("<tr><td>")
          .append(Html.text(e.getKey()))
          .append("</td><td dir=\"auto\">")
          .append(Html.text(e.getValue().asText()))
          .append("</td></tr>");
    }
    b.append("</table><h3>Decoding</h3><table class=\"kv\">");
    Iterator<Map.Entry<String, JsonNode>> d = a.get("decoding").fields();
    while (d.hasNext()) {
      Map.Entry<String, JsonNode> e = d.next();
      b.append("<tr><td>")
          .append(Html.text(e.getKey()))
          .append("</td><td>")
          .append(Html.text(e.getValue().asText()))
          .append("</td></tr>");
    }
    b.append("</table>\n");
  }

  private static void methods(StringBuilder b, JsonNode a) {
    JsonNode s = a.get("settings");
    b.append("<h2>Methods</h2><ul>")
        .append("<li><b>Reference run</b>: the run of the same prompt and seed at the reference")
        .append(" point, first repeat. Every other run is compared with it token by token.</li>")
        .append("<li><b>Div_Index</b>: the first step whose token differs (0 = the first")
        .append(" generated token).</li>")
        .append("<li><b>Drift</b>: at each step both runs saw the same text, the largest change")
        .append(" of any of the reference's top-K logits.</li>")
        .append("<li><b>Noise floor</b> of a condition: the ")
        .append(Html.text(Format.pct(s.get("floor_quantile").asDouble())))
        .append(" percentile of that drift over runs differing only in it, with a 95% bootstrap")
        .append(" interval.</li>")
        .append("<li><b>Explained</b> divergence: the reference's top-1/top-2 margin there was at")
        .append(" most twice the floor's upper bound — numerical noise tipped a near-tie. For")
        .append(" sampled steps: the random draw sat closer to a boundary than the probabilities")
        .append(" moved. <b>Unexplained</b>: the logits moved more than the condition moves them —")
        .append(" a real change.</li>")
        .append("<li><b>Near-tie</b>: margin at most ")
        .append(Html.text(Format.num(s.get("near_tie_nats").asDouble())))
        .append(" nats (the runner-up at least half as likely).</li>")
        .append("<li><b>Intervals</b>: Wilson score, 95%. <b>Survival</b>: share of runs not yet")
        .append(" diverged by each step (Kaplan–Meier; runs that end first are censored).")
        .append(" <b>TARr@N</b>: share of prompt × point groups whose N repeats are all")
        .append(" identical.</li>")
        .append(
            "<li><b>Tests</b>: Fisher exact (two values) or chi-square across an axis's values;")
        .append(
            " Mann–Whitney U for smaller margins at divergence steps, exact over every split of")
        .append(" the pooled values up to 60 (ties included), with continuity and tie corrections")
        .append(" beyond.</li></ul>\n");
  }
}
