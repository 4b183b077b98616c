package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Truth;
import java.util.Map;

/**
 * For experiments with a float64 point: each condition's distance from the truth, whether the
 * float32 reference stayed on the true path, and at each divergence which side float64 takes.
 */
final class TruthSection {
  private TruthSection() {}

  /** The summary's sentence, or "" without a float64 point. */
  static String sentence(Analysis a) {
    Truth t = a.truth();
    if (t == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(" Against float64 (precision=fp64): ");
    int off = t.referencesOffPath().size();
    if (off == 0) {
      b.append("the reference stayed on the true path for all ")
          .append(t.referencesCompared())
          .append(" prompt(s)");
    } else {
      Truth.ReferenceCheck r = t.referencesOffPath().get(0);
      b.append("the reference left the true path for ")
          .append(off)
          .append(" of ")
          .append(t.referencesCompared())
          .append(" prompt(s) (")
          .append(r.promptId())
          .append(" at step ")
          .append(r.step())
          .append(": ")
          .append(quote(a, r.refToken()))
          .append(" where float64 takes ")
          .append(quote(a, r.truthToken()))
          .append(", float64 margin ")
          .append(Sentences.fmt(r.margin64()))
          .append(off > 1 ? ", and others" : "")
          .append(")");
    }
    Map<Truth.Side, Long> s = t.sides();
    long all = s.values().stream().mapToLong(Long::longValue).sum();
    if (all > 0) {
      b.append("; of ")
          .append(all)
          .append(" divergences float64 takes the run's token in ")
          .append(s.get(Truth.Side.RUN))
          .append(", the reference's in ")
          .append(s.get(Truth.Side.REFERENCE));
      if (s.get(Truth.Side.NEITHER) > 0) {
        b.append(", neither in ").append(s.get(Truth.Side.NEITHER));
      }
      if (s.get(Truth.Side.OFF_PATH) > 0) {
        b.append(" (")
            .append(s.get(Truth.Side.OFF_PATH))
            .append(" lie past where float64 had already parted from the reference)");
      }
    }
    double worst = 0;
    double ulps = 0;
    for (Truth.PointError p : t.points()) {
      worst = Math.max(worst, p.maxError());
      ulps = Math.max(ulps, p.maxUlps());
    }
    if (!t.points().isEmpty()) {
      b.append("; largest error against float64 ")
          .append(Sentences.fmt(worst))
          .append(" in logits (")
          .append(Sentences.fmt(ulps))
          .append(" float32 ULPs)");
    }
    return b.append('.').toString();
  }

  private static String quote(Analysis a, int id) {
    return id < 0 ? "the end" : "'" + a.text(id) + "'";
  }

  static void markdown(StringBuilder b, JsonNode a) {
    JsonNode t = a.path("truth");
    if (t.isMissingNode()) {
      return;
    }
    b.append("## Against float64\n\n")
        .append(
            MarkdownReport.md(
                "Each condition against the float64 run of the same prompt and seed (its top-K"
                    + " logits recorded exactly): each run's largest |Δlogit| over the steps where"
                    + " both had the same context — the largest of them, and their median — in"
                    + " logits and in float32 ULPs of the true value, and the runs whose tokens are"
                    + " float64's."))
        .append(
            "\n\n| condition | runs | max \\|Δlogit\\| | median | max ULPs | on the true path |\n")
        .append("|---|---:|---:|---:|---:|---:|\n");
    for (JsonNode p : t.path("points")) {
      b.append("| `")
          .append(MarkdownReport.code(p.get("point").asText()))
          .append("` | ")
          .append(p.get("runs").asLong())
          .append(" | ")
          .append(Format.num(p.get("max_error")))
          .append(" | ")
          .append(Format.num(p.get("median_error")))
          .append(" | ")
          .append(Format.num(p.get("max_ulps")))
          .append(" | ")
          .append(p.get("on_true_path").asLong())
          .append(" |\n");
    }
    b.append('\n');
  }

  static void html(StringBuilder b, JsonNode a) {
    JsonNode t = a.path("truth");
    if (t.isMissingNode()) {
      return;
    }
    b.append("<h2>Against float64</h2>\n<table><tr><th>condition</th><th>runs</th>")
        .append("<th>max |Δlogit|</th><th>median</th><th>max ULPs</th>")
        .append("<th>on the true path</th></tr>");
    for (JsonNode p : t.path("points")) {
      b.append("<tr><td><code>")
          .append(Html.text(p.get("point").asText()))
          .append("</code></td><td class=\"n\">")
          .append(p.get("runs").asLong())
          .append("</td><td class=\"n\">")
          .append(Html.text(Format.num(p.get("max_error"))))
          .append("</td><td class=\"n\">")
          .append(Html.text(Format.num(p.get("median_error"))))
          .append("</td><td class=\"n\">")
          .append(Html.text(Format.num(p.get("max_ulps"))))
          .append("</td><td class=\"n\">")
          .append(p.get("on_true_path").asLong())
          .append("</td></tr>");
    }
    b.append("</table>\n");
  }
}
