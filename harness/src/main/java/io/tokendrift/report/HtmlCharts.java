package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The charts section of the HTML report: inline SVG drawn from analysis.json. */
final class HtmlCharts {
  private HtmlCharts() {}

  static void render(StringBuilder b, JsonNode a) {
    b.append("<h2>Charts</h2><div class=\"charts\">\n");
    divIndex(b, a);
    survival(b, a);
    margins(b, a);
    flipRate(b, a);
    divergenceRate(b, a);
    agreement(b, a);
  }

  /** Div_Index histogram over all points. */
  private static void divIndex(StringBuilder b, JsonNode a) {
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
    if (java.util.Arrays.stream(hist).sum() == 0) {
      empty(b, "No run diverged from its reference: there is no first-divergence histogram.");
      return;
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
  }

  /** A chart with nothing to show, said in one sentence instead. */
  static void empty(StringBuilder b, String sentence) {
    b.append("<p class=\"empty\">").append(Html.text(sentence)).append("</p>\n");
  }

  /** Survival per value of each varied axis (the first three axes, to keep the page readable). */
  private static void survival(StringBuilder b, JsonNode a) {
    boolean anyDrop = false;
    for (JsonNode ax : a.get("axes")) {
      for (JsonNode v : ax.get("values")) {
        for (JsonNode y : v.get("survival")) {
          anyDrop |= y.asDouble() < 1;
        }
      }
    }
    if (!anyDrop) {
      empty(b, "No run diverged: every survival curve stays at 100%, so none is drawn.");
      return;
    }
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
  }

  /** Margin distribution, log scale, with divergence steps overlaid. */
  private static void margins(StringBuilder b, JsonNode a) {
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
      // A tick every second decade (1e-7, 1e-5, ... 1e3) under the bin it starts.
      String tick = i % 4 == 0 ? "1e" + (-7 + i / 2) : "";
      mb.add(
          new Svg.Bar(
              label + " all steps",
              tick,
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
            "top-1/top-2 margin (nats, log scale; bins of half a decade)",
            "share of steps",
            mb,
            1,
            true));
  }

  /** Flip rate by margin with Wilson intervals. */
  private static void flipRate(StringBuilder b, JsonNode a) {
    long flips = 0;
    for (JsonNode f : a.get("tests").get("flip_rate_by_margin")) {
      flips += f.get("flips").get("k").asLong();
    }
    if (flips == 0) {
      empty(
          b, "No aligned greedy step flipped its token: there is no flip rate to chart by margin.");
      return;
    }
    List<Svg.Bar> fb = new ArrayList<>();
    for (JsonNode f : a.get("tests").get("flip_rate_by_margin")) {
      String label =
          f.get("margin_to").isNull()
              ? "≥" + Format.num(f.get("margin_from"))
              : "<" + Format.num(f.get("margin_to"));
      fb.add(rateBar(label, f.get("flips"), Svg.COLOURS[2]));
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
  }

  /** Divergence rate per axis value with intervals. */
  private static void divergenceRate(StringBuilder b, JsonNode a) {
    List<Svg.Bar> db = new ArrayList<>();
    int colour = 0;
    for (JsonNode ax : a.get("axes")) {
      for (JsonNode v : ax.get("values")) {
        Svg.Bar bar =
            rateBar(
                ax.get("axis").asText() + "=" + v.get("value").asText(),
                v.get("diverged"),
                Svg.COLOURS[colour % Svg.COLOURS.length]);
        // Under the bar its value; the axis is the bar's colour and its tooltip.
        db.add(
            new Svg.Bar(
                bar.label(),
                v.get("value").asText(),
                bar.value(),
                bar.low(),
                bar.high(),
                bar.colour()));
      }
      colour++;
    }
    b.append(
        Svg.bars(
            "chart-divergence-rate",
            "Divergence rate per axis value (95% Wilson intervals)",
            "value of each axis (one colour per axis; hover a bar for its axis)",
            "runs that diverged",
            db,
            1,
            true));
  }

  /** A bar of a proportion with its interval (0 and no interval when it has no trials). */
  private static Svg.Bar rateBar(String label, JsonNode p, String colour) {
    boolean none = p.get("n").asInt() == 0;
    return new Svg.Bar(
        label,
        none ? 0 : p.get("rate").asDouble(),
        none ? Double.NaN : p.get("low").asDouble(),
        none ? Double.NaN : p.get("high").asDouble(),
        colour);
  }

  /** Agreement heatmap: prompts x points, then the points' keys. */
  private static void agreement(StringBuilder b, JsonNode a) {
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
}
