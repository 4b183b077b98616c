package io.tokendrift.report;

import java.util.List;
import java.util.Locale;

/**
 * Charts drawn as inline SVG: bars with interval whiskers, step lines, a heatmap. Every chart has
 * labelled axes with units, a title, and a fixed size, so the page needs nothing from elsewhere.
 */
final class Svg {
  static final int W = 640;
  static final int H = 260;
  static final int L = 64; // left margin
  static final int R = 16;
  static final int T = 28;
  static final int B = 52;
  static final String[] COLOURS = {
    "#3b6ea5", "#c0504d", "#4f9a55", "#8064a2", "#d18a2c", "#2a9d9d", "#7f7f7f", "#b5527a"
  };

  private Svg() {}

  /**
   * A bar.
   *
   * @param label the full name (the tooltip)
   * @param tick the text under the bar (abbreviated to fit)
   */
  record Bar(String label, String tick, double value, double low, double high, String colour) {
    Bar(String label, double value, double low, double high, String colour) {
      this(label, label, value, low, high, colour);
    }
  }

  /** A series of points drawn as steps. */
  record Series(String label, double[] y) {}

  static String open(String id, String title) {
    return open(id, title, H);
  }

  /**
   * A chart {@code height} user units tall: only a viewBox, so it scales to its column (CSS gives
   * it the column's width) and its text keeps its proportions.
   */
  static String open(String id, String title, int height) {
    return "<svg class=\"chart\" id=\""
        + Html.attr(id)
        + "\" role=\"img\" aria-label=\""
        + Html.attr(title)
        + "\" viewBox=\"0 0 "
        + W
        + " "
        + height
        + "\" preserveAspectRatio=\"xMidYMid meet\" xmlns=\"http://www.w3.org/2000/svg\">"
        + "<title>"
        + Html.text(title)
        + "</title>"
        + text(W / 2.0, 16, title, "middle", "title");
  }

  static String text(double x, double y, String s, String anchor, String cls) {
    return String.format(
        Locale.ROOT,
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">%s</text>",
        x,
        y,
        anchor,
        cls,
        Html.text(s));
  }

  static String axes(String xLabel, String yLabel, double yMax, boolean percent) {
    StringBuilder b = new StringBuilder();
    int x0 = L;
    int y0 = H - B;
    b.append(line(x0, T, x0, y0)).append(line(x0, y0, W - R, y0));
    for (int i = 0; i <= 4; i++) {
      double v = yMax * i / 4;
      double y = y0 - (y0 - T) * i / 4.0;
      b.append(line(x0 - 4, y, x0, y));
      b.append(text(x0 - 6, y + 4, percent ? Format.pct(v) : Format.num(v), "end", "tick"));
    }
    b.append(text((x0 + W - R) / 2.0, H - 8, xLabel, "middle", "label"));
    b.append(
        String.format(
            Locale.ROOT,
            "<text transform=\"translate(14,%.1f) rotate(-90)\" text-anchor=\"middle\""
                + " class=\"label\">%s</text>",
            (T + y0) / 2.0,
            Html.text(yLabel)));
    return b.toString();
  }

  static String line(double x1, double y1, double x2, double y2) {
    return String.format(
        Locale.ROOT,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>",
        x1,
        y1,
        x2,
        y2);
  }

  /** Bars with optional [low, high] whiskers; values in [0, yMax]. */
  static String bars(
      String id,
      String title,
      String xLabel,
      String yLabel,
      List<Bar> bars,
      double yMax,
      boolean percent) {
    StringBuilder b = new StringBuilder(open(id, title));
    double top = yMax > 0 ? yMax : 1;
    b.append(axes(xLabel, yLabel, top, percent));
    int n = Math.max(1, bars.size());
    double slot = (W - L - R) / (double) n;
    double y0 = H - B;
    for (int i = 0; i < bars.size(); i++) {
      Bar bar = bars.get(i);
      double x = L + i * slot + slot * 0.15;
      double w = slot * 0.7;
      double h = (y0 - T) * clamp(bar.value() / top);
      b.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s:"
                  + " %s</title></rect>",
              x,
              y0 - h,
              w,
              Math.max(h, 0.5),
              bar.colour(),
              Html.text(bar.label()),
              Html.text(percent ? Format.pct(bar.value()) : Format.num(bar.value()))));
      if (!Double.isNaN(bar.low()) && !Double.isNaN(bar.high())) {
        double cx = x + w / 2;
        double yl = y0 - (y0 - T) * clamp(bar.low() / top);
        double yh = y0 - (y0 - T) * clamp(bar.high() / top);
        b.append(
            String.format(
                Locale.ROOT,
                "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" class=\"whisker\"/>",
                cx,
                yl,
                yh,
                cx - 4,
                yl,
                cx + 4,
                cx - 4,
                yh,
                cx + 4));
      }
      boolean ownTick = !bar.tick().equals(bar.label());
      if ((bars.size() <= 24 || ownTick) && !bar.tick().isEmpty()) {
        // Abbreviated to the bar's slot (about 6.5 user units a character at 11 px), the full
        // label in a tooltip.
        // Abbreviated to the slot unless the chart set its own sparse ticks (they have room).
        String shown =
            ownTick && bars.size() > 24 ? bar.tick() : shorten(bar.tick(), (int) (slot / 6.8));
        b.append(
            String.format(
                Locale.ROOT,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\"><title>%s</title>%s"
                    + "</text>",
                x + w / 2,
                y0 + 14,
                Html.text(bar.label()),
                Html.text(shown)));
      }
    }
    return b.append("</svg>").toString();
  }

  /** Step lines over x = 0..n-1, y in [0, 1], with a legend. */
  static String steps(String id, String title, String xLabel, String yLabel, List<Series> series) {
    // The legend goes below the plot, two entries a row, never over the curves.
    int rows = (series.size() + 1) / 2;
    StringBuilder b = new StringBuilder(open(id, title, H + 8 + 16 * rows));
    b.append(axes(xLabel, yLabel, 1, true));
    int n = 1;
    for (Series s : series) {
      n = Math.max(n, s.y().length);
    }
    double y0 = H - B;
    double dx = (W - L - R) / (double) n;
    for (int k = 0; k <= 4; k++) {
      int step = (int) Math.round((n - 1) * k / 4.0);
      b.append(text(L + step * dx, y0 + 14, Integer.toString(step), "middle", "tick"));
    }
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      String colour = COLOURS[i % COLOURS.length];
      StringBuilder d = new StringBuilder();
      for (int t = 0; t < s.y().length; t++) {
        double y = y0 - (y0 - T) * clamp(s.y()[t]);
        d.append(
            t == 0
                ? String.format(Locale.ROOT, "M%d %.1f", L, y)
                : String.format(Locale.ROOT, "V%.1f", y));
        d.append(String.format(Locale.ROOT, "H%.1f", L + (t + 1) * dx));
      }
      b.append("<path d=\"")
          .append(d)
          .append("\" fill=\"none\" stroke=\"")
          .append(colour)
          .append("\" stroke-width=\"2\"><title>")
          .append(Html.text(s.label()))
          .append("</title></path>");
      int lx = L + (i % 2) * ((W - L - R) / 2);
      int ly = H + 4 + (i / 2) * 16;
      b.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>",
              lx,
              ly,
              colour));
      b.append(text(lx + 14, ly + 9, shorten(s.label(), 38), "start", "tick"));
    }
    return b.append("</svg>").toString();
  }

  /** A rows × columns grid of rates in [0, 1] (null cells grey). */
  static String heatmap(
      String id,
      String title,
      String xLabel,
      String yLabel,
      List<String> rows,
      List<String> cols,
      Double[][] v) {
    StringBuilder b = new StringBuilder(open(id, title));
    double x0 = L + 60;
    double y0 = T + 4;
    double cw = (W - R - x0) / Math.max(1, cols.size());
    double ch = (H - B - y0) / Math.max(1, rows.size());
    for (int r = 0; r < rows.size(); r++) {
      b.append(text(x0 - 4, y0 + r * ch + ch / 2 + 4, shorten(rows.get(r), 16), "end", "tick"));
      for (int c = 0; c < cols.size(); c++) {
        Double x = v[r][c];
        String fill = x == null ? "#dddddd" : shade(x);
        b.append(
            String.format(
                Locale.ROOT,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s"
                    + " at %s: %s identical</title></rect>",
                x0 + c * cw,
                y0 + r * ch,
                Math.max(cw - 1, 0.5),
                Math.max(ch - 1, 0.5),
                fill,
                Html.text(rows.get(r)),
                Html.text(cols.get(c)),
                x == null ? "no runs" : Format.pct(x)));
      }
    }
    b.append(
        text(
            (x0 + W - R) / 2,
            H - 24,
            "points 1-" + cols.size() + " (hover for the point)",
            "middle",
            "tick"));
    b.append(text((x0 + W - R) / 2, H - 8, xLabel, "middle", "label"));
    b.append(
        String.format(
            Locale.ROOT,
            "<text transform=\"translate(14,%.1f) rotate(-90)\" text-anchor=\"middle\""
                + " class=\"label\">%s</text>",
            (T + H - B) / 2.0,
            Html.text(yLabel)));
    return b.append("</svg>").toString();
  }

  /** Red (0% identical) to green (100%). */
  static String shade(double identical) {
    double t = clamp(identical);
    int r = (int) Math.round(200 - 150 * t);
    int g = (int) Math.round(60 + 120 * t);
    int bl = (int) Math.round(60 + 20 * t);
    return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, bl);
  }

  static double clamp(double v) {
    return Double.isNaN(v) ? 0 : Math.max(0, Math.min(1, v));
  }

  static String shorten(String s, int max) {
    int m = Math.max(3, max);
    return s.length() <= m ? s : s.substring(0, m - 1) + "…";
  }
}
