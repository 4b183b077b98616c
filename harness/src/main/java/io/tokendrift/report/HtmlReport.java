package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
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
      .charts{display:flex;flex-wrap:wrap;gap:16px}
      svg.chart{background:#fff;border:1px solid #e3e3e3;font-size:11px}
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
    charts(b, a);
    axes(b, a);
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

  private static void charts(StringBuilder b, JsonNode a) {
    b.append("<h2>Charts</h2><div class=\"charts\">\n");
    // Div_Index histogram over all points.
    int len = 0;
    for (JsonNode p : a.get("points")) {
      len = Math.max(len, p.get("div_index").get("histogram").size());
    }
    double[] hist = new double[Math.max(len, 1)];
    for (JsonNode p : a.get("points")) {
      JsonNode h = p.get("div_index").get("histogram");
      for (int i = 0; i < h.size(); i++) {
        hist[i] += h.get(i).asDouble();
      }
    }
    List<Svg.Bar> hb = new ArrayList<>();
    double hmax = 1;
    for (int i = 0; i < hist.length; i++) {
      hb.add(new Svg.Bar(Integer.toString(i), hist[i], Double.NaN, Double.NaN, Svg.COLOURS[0]));
      hmax = Math.max(hmax, hist[i]);
    }
    b.append(
        Svg.bars(
            "chart-div-index",
            "First divergence (Div_Index)",
            "step of first divergence (tokens)",
            "runs",
            hb,
            hmax,
            false));
    // Survival per value of each varied axis (the first two axes, to keep the page readable).
    int shown = 0;
    for (JsonNode ax : a.get("axes")) {
      if (ax.get("axis").asText().equals("repeat") || shown == 3) {
        continue;
      }
      List<Svg.Series> series = new ArrayList<>();
      for (JsonNode v : ax.get("values")) {
        JsonNode s = v.get("survival");
        double[] y = new double[s.size()];
        for (int i = 0; i < y.length; i++) {
          y[i] = s.get(i).asDouble();
        }
        series.add(new Svg.Series(ax.get("axis").asText() + " = " + v.get("value").asText(), y));
      }
      b.append(
          Svg.steps(
              "chart-survival-" + ax.get("axis").asText(),
              "Runs not yet diverged, by " + ax.get("axis").asText(),
              "step (tokens)",
              "share of runs",
              series));
      shown++;
    }
    // Margin distribution, log scale, with divergence steps overlaid.
    JsonNode mh = a.get("tests").get("margin_histogram");
    List<Svg.Bar> mb = new ArrayList<>();
    double total = 0;
    double div = 0;
    for (int i = 0; i < mh.get("all_steps").size(); i++) {
      total += mh.get("all_steps").get(i).asDouble();
      div += mh.get("divergence_steps").get(i).asDouble();
    }
    for (int i = 0; i < mh.get("all_steps").size(); i++) {
      String label = "1e" + Format.num(-7 + i * 0.5);
      mb.add(
          new Svg.Bar(
              label + " all steps",
              total == 0 ? 0 : mh.get("all_steps").get(i).asDouble() / total,
              Double.NaN,
              Double.NaN,
              Svg.COLOURS[0]));
      mb.add(
          new Svg.Bar(
              label + " divergences",
              div == 0 ? 0 : mh.get("divergence_steps").get(i).asDouble() / div,
              Double.NaN,
              Double.NaN,
              Svg.COLOURS[1]));
    }
    b.append(
        Svg.bars(
            "chart-margins",
            "Top-1/top-2 margin: all reference steps (blue) vs divergence steps (red)",
            "margin, log10 nats (bins of half a decade, from 1e-7 to 1e3)",
            "share of steps",
            mb,
            1,
            true));
    // Flip rate by margin with Wilson intervals.
    List<Svg.Bar> fb = new ArrayList<>();
    for (JsonNode f : a.get("tests").get("flip_rate_by_margin")) {
      JsonNode p = f.get("flips");
      String label =
          f.get("margin_to").isNull()
              ? "≥" + Format.num(f.get("margin_from"))
              : "<" + Format.num(f.get("margin_to"));
      fb.add(
          new Svg.Bar(
              label,
              p.get("n").asInt() == 0 ? 0 : p.get("rate").asDouble(),
              p.get("n").asInt() == 0 ? Double.NaN : p.get("low").asDouble(),
              p.get("n").asInt() == 0 ? Double.NaN : p.get("high").asDouble(),
              Svg.COLOURS[2]));
    }
    b.append(
        Svg.bars(
            "chart-flip-rate",
            "Flip rate by reference margin (95% Wilson intervals)",
            "reference margin bin (nats)",
            "steps that flipped",
            fb,
            1,
            true));
    // Divergence rate per axis value with intervals.
    List<Svg.Bar> db = new ArrayList<>();
    int colour = 0;
    for (JsonNode ax : a.get("axes")) {
      for (JsonNode v : ax.get("values")) {
        JsonNode p = v.get("diverged");
        db.add(
            new Svg.Bar(
                ax.get("axis").asText() + "=" + v.get("value").asText(),
                p.get("n").asInt() == 0 ? 0 : p.get("rate").asDouble(),
                p.get("n").asInt() == 0 ? Double.NaN : p.get("low").asDouble(),
                p.get("n").asInt() == 0 ? Double.NaN : p.get("high").asDouble(),
                Svg.COLOURS[colour % Svg.COLOURS.length]));
      }
      colour++;
    }
    b.append(
        Svg.bars(
            "chart-divergence-rate",
            "Divergence rate per axis value (95% Wilson intervals)",
            "axis = value",
            "runs that diverged",
            db,
            1,
            true));
    // Agreement heatmap: prompts x points.
    JsonNode ag = a.get("agreement");
    List<String> rows = new ArrayList<>();
    ag.get("prompts").forEach(p -> rows.add(p.asText()));
    List<String> cols = new ArrayList<>();
    ag.get("points").forEach(p -> cols.add(p.asText()));
    Double[][] v = new Double[rows.size()][cols.size()];
    for (int r = 0; r < rows.size(); r++) {
      for (int c = 0; c < cols.size(); c++) {
        JsonNode x = ag.get("identical_rate").get(r).get(c);
        v[r][c] = x.isNull() ? null : x.asDouble();
      }
    }
    b.append(
        Svg.heatmap(
            "chart-agreement",
            "Agreement with the reference, prompts × points",
            "point",
            "prompt",
            rows,
            cols,
            v));
    b.append("</div>\n<ol class=\"muted\">");
    for (String c : cols) {
      b.append("<li><code>").append(Html.text(c)).append("</code></li>");
    }
    b.append("</ol>\n");
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
        cell(b, v.get("value").asText(), false);
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
            + " token for its margin and top alternatives with their logits.</p>\n");
    double nearTie = a.get("settings").get("near_tie_nats").asDouble();
    int shown = 0;
    for (JsonNode d : a.get("divergences")) {
      JsonNode c = d.get("context");
      if (c == null) {
        continue;
      }
      shown++;
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
    if (shown == 0) {
      b.append("<p>No run diverged from its reference.</p>\n");
    }
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
        .append(" Mann–Whitney U for smaller margins at divergence steps.</li></ul>\n");
  }
}
