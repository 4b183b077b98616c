package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Answers;
import io.tokendrift.analysis.Stats;

/**
 * For specs whose prompts carry an expected answer: accuracy per condition, its spread, and
 * agreement of answers (TARa) beside agreement of outputs (TARr) — does the drift change answers?
 */
final class AnswersSection {
  private AnswersSection() {}

  /** The summary's sentence, or "" when no prompt has an expected answer. */
  static String sentence(Analysis a) {
    Answers x = a.answers();
    if (x == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(" Answers (");
    b.append(x.prompts()).append(" prompt(s) with an expected answer): ");
    Stats.Proportion ref = x.atReference(a.referencePoint());
    if (ref != null) {
      b.append("accuracy ").append(pct(ref)).append(" at the reference");
    }
    if (x.points().size() >= 2) {
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      for (Answers.PointAnswers p : x.points()) {
        lo = Math.min(lo, p.correct().rate());
        hi = Math.max(hi, p.correct().rate());
      }
      b.append(ref != null ? "; " : "")
          .append("across ")
          .append(x.points().size())
          .append(" conditions ")
          .append(Format.pct(lo))
          .append("–")
          .append(Format.pct(hi))
          .append(" (spread ")
          .append(Sentences.fmt(100 * x.spread()))
          .append(" points, sd ")
          .append(Sentences.fmt(100 * x.sd()))
          .append(")");
    }
    if (x.tara().trials() > 0) {
      b.append("; TARa@")
          .append(x.repeats())
          .append(' ')
          .append(Format.pct(x.tara().rate()))
          .append(" beside TARr@")
          .append(x.repeats())
          .append(' ')
          .append(Format.pct(x.tarr().rate()));
    }
    if (x.lengthSpread() > 0 && x.points().size() >= 2) {
      b.append("; mean output length differs by up to ")
          .append(Sentences.fmt(x.lengthSpread()))
          .append(" tokens between conditions");
    }
    return b.append('.').toString();
  }

  private static String pct(Stats.Proportion p) {
    return Format.pct(p.rate()) + " [" + Format.pct(p.low()) + ", " + Format.pct(p.high()) + "]";
  }

  static void markdown(StringBuilder b, JsonNode a) {
    JsonNode x = a.path("answers");
    if (x.isMissingNode()) {
      return;
    }
    b.append("## Answers\n\n");
    b.append(
        MarkdownReport.md(
            x.get("prompts").asLong()
                + " prompt(s) carry an expected answer (expect:). Accuracy per condition with its 95%"
                + " Wilson interval; across conditions it spreads over "
                + Sentences.fmt(100 * x.path("spread").asDouble(Double.NaN))
                + " percentage points (sd "
                + Sentences.fmt(100 * x.path("sd").asDouble(Double.NaN))
                + "). Answers agree across repeats in "
                + Format.proportion(x.get("tara"))
                + " of groups (TARa), outputs in "
                + Format.proportion(x.get("tarr"))
                + " (TARr)."));
    b.append("\n\n| condition | correct | mean length (tokens) |\n|---|---|---:|\n");
    for (JsonNode p : x.path("points")) {
      b.append("| `")
          .append(MarkdownReport.code(p.get("point").asText()))
          .append("` | ")
          .append(Format.proportion(p.get("correct")))
          .append(" | ")
          .append(Format.num(p.get("mean_length")))
          .append(" |\n");
    }
    b.append('\n');
  }

  static void html(StringBuilder b, JsonNode a) {
    JsonNode x = a.path("answers");
    if (x.isMissingNode()) {
      return;
    }
    b.append("<h2>Answers</h2>\n<p>")
        .append(
            Html.text(
                x.get("prompts").asLong()
                    + " prompt(s) carry an expected answer. Answers agree across repeats in "
                    + Format.proportion(x.get("tara"))
                    + " of groups (TARa), outputs in "
                    + Format.proportion(x.get("tarr"))
                    + " (TARr); accuracy spreads over "
                    + Sentences.fmt(100 * x.path("spread").asDouble(Double.NaN))
                    + " percentage points across conditions."))
        .append("</p>\n<table><tr><th>condition</th><th>correct</th>")
        .append("<th>mean length (tokens)</th></tr>");
    for (JsonNode p : x.path("points")) {
      b.append("<tr><td><code>")
          .append(Html.text(p.get("point").asText()))
          .append("</code></td><td>")
          .append(Html.text(Format.proportion(p.get("correct"))))
          .append("</td><td class=\"n\">")
          .append(Html.text(Format.num(p.get("mean_length"))))
          .append("</td></tr>");
    }
    b.append("</table>\n");
  }
}
