package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * {@code report.md}: the headline, a table per axis and the worst divergences in context, sized for
 * a GitHub step summary or PR comment (under 64 KB; cut with a note when longer).
 */
public final class MarkdownReport {
  /** GitHub's step-summary limit is 1 MiB, a PR comment's 65,536 characters: stay under both. */
  public static final int LIMIT = 64_000;

  private MarkdownReport() {}

  public static String render(JsonNode a) {
    StringBuilder b = new StringBuilder();
    JsonNode h = a.get("headline");
    b.append("# tokendrift: ").append(md(a.get("experiment").asText())).append("\n\n");
    b.append(md(a.get("summary").asText())).append("\n\n");
    b.append("| runs | compared | identical (95% CI) | diverged | explained | unexplained |")
        .append(" median Div_Index | unique completions (max per prompt) |\n");
    b.append("|---:|---:|---|---:|---:|---:|---:|---:|\n");
    b.append(
        String.format(
            Locale.ROOT,
            "| %d | %d | %s | %d | %d | %d | %s | %d |%n%n",
            h.get("runs").asInt(),
            h.get("compared").asInt(),
            Format.proportion(h.get("identical")),
            h.get("diverged").asInt(),
            h.get("explained").asInt(),
            h.get("unexplained").asInt(),
            Format.num(h.get("median_div_index")),
            h.get("unique_completions_max").asInt()));
    b.append("Reference point: `").append(a.get("reference").asText()).append("`\n\n");
    ProviderSection.markdown(b, a);
    axes(b, a);
    TruthSection.markdown(b, a);
    AnswersSection.markdown(b, a);
    GroupSection.markdown(b, a);
    EnvSection.markdown(b, a);
    PromptSection.markdown(b, a);
    divergences(b, a);
    b.append("\n<sub>tokendrift ")
        .append(md(a.get("manifest").path("tokendrift.version").asText("")))
        .append(", model `")
        .append(md(a.get("manifest").path("model").asText("")))
        .append("`, ")
        .append(md(a.get("manifest").path("cpu.model").asText("")))
        .append("</sub>\n");
    return cap(b.toString());
  }

  private static void axes(StringBuilder b, JsonNode a) {
    b.append("## By axis\n\n");
    if (a.get("axes").isEmpty()) {
      b.append("No axis was varied.\n\n");
    }
    for (JsonNode ax : a.get("axes")) {
      axis(b, ax);
    }
  }

  private static void axis(StringBuilder b, JsonNode ax) {
    b.append("### ").append(md(ax.get("axis").asText()));
    JsonNode test = ax.get("test");
    if (test.get("p") != null && !test.get("p").isNull()) {
      b.append(" — ")
          .append(test.get("name").asText())
          .append(" p = ")
          .append(Format.num(test.get("p")));
    }
    b.append("\n\n");
    if (ax.get("values").isEmpty()) {
      // As report.html says it: an axis compared at the reference point only has no table.
      JsonNode one = ax.get("single_axis");
      b.append("Compared at the reference point only: ")
          .append(one.get("runs").asInt())
          .append(" runs, diverged ")
          .append(Format.proportion(one.get("diverged")))
          .append(", noise floor ")
          .append(Format.num(one.get("noise_floor").get("value")))
          .append(".\n\n");
      return;
    }
    b.append("| value | runs | diverged (95% CI) | explained | unexplained |\n");
    b.append("|---|---:|---|---:|---:|\n");
    for (JsonNode v : ax.get("values")) {
      b.append("| `")
          .append(md(v.get("value").asText()))
          .append(
              ax.get("reference_value").asText().equals(v.get("value").asText())
                  ? "` (reference)"
                  : "`")
          .append(" | ")
          .append(v.get("runs").asInt())
          .append(" | ")
          .append(Format.proportion(v.get("diverged")))
          .append(" | ")
          .append(v.get("explained").asInt())
          .append(" | ")
          .append(v.get("unexplained").asInt())
          .append(" |\n");
    }
    JsonNode s = ax.get("single_axis");
    if (s.get("runs").asInt() == 0) {
      b.append('\n');
      return;
    }
    b.append("\nThis axis alone (")
        .append(s.get("runs").asInt())
        .append(" runs): diverged ")
        .append(Format.proportion(s.get("diverged")))
        .append(", noise floor ")
        .append(Format.num(s.get("noise_floor").get("value")))
        .append(" (95% CI up to ")
        .append(Format.num(s.get("noise_floor").get("high")))
        .append(").\n\n");
  }

  private static void divergences(StringBuilder b, JsonNode a) {
    b.append("## Worst divergences\n\n");
    int shown = 0;
    for (JsonNode d : a.get("divergences")) {
      if (shown == 10) {
        break;
      }
      shown++;
      b.append(
          String.format(
              Locale.ROOT,
              "%d. **%s** — prompt `%s`, %s, step %d: margin %s, threshold %s, Δ%s of the"
                  + " reference's top-1 / top-2 %s / %s%s%n",
              shown,
              d.get("verdict").asText(),
              md(d.get("prompt_id").asText()),
              md(d.get("axes").asText().isEmpty() ? "repeat" : d.get("axes").asText()),
              d.get("div_index").asInt(),
              Format.num(d.get("ref_margin")),
              Format.num(d.get("threshold")),
              Format.unit(a),
              Format.drift(a, d, "drift_top1"),
              Format.drift(a, d, "drift_top2"),
              planted(a, d) + truth(d)));
      context(b, d);
    }
    if (shown == 0) {
      b.append("None: every compared run matched its reference.\n");
    }
  }

  /**
   * Where the divergence sits among the model's planted ties: ", at planted `id`", ", unplanted",
   * or nothing when the model has no planted ties.
   */
  static String planted(JsonNode a, JsonNode d) {
    JsonNode p = d.get("planted");
    if (p != null && !p.isNull()) {
      return ", at planted `" + md(p.asText()) + "`";
    }
    JsonNode known = a.path("near_ties").path("planted");
    return known.isArray() && known.size() > 0 ? ", unplanted" : "";
  }

  /** ", float64 takes the run's token `x`" and the like, or "" without a float64 point. */
  static String truth(JsonNode d) {
    JsonNode t = d.get("truth");
    if (t == null) {
      return "";
    }
    String side = t.get("side").asText();
    return switch (side) {
      case "run" -> ", float64 takes the run's token `" + code(t.path("text").asText()) + "`";
      case "reference" ->
          ", float64 takes the reference's token `" + code(t.path("text").asText()) + "`";
      case "neither" -> ", float64 takes neither (`" + code(t.path("text").asText()) + "`)";
      default ->
          ", float64 had left the reference's path at step "
              + t.path("left_reference_path_at").asInt();
    };
  }

  /** The competing tokens and the tokens around the divergence (or the whole texts). */
  private static void context(StringBuilder b, JsonNode d) {
    JsonNode c = d.get("context");
    int at = d.get("div_index").asInt();
    if (c != null && at < c.get("ref_tokens").size()) {
      JsonNode step = c.get("ref_tokens").get(at);
      StringBuilder comp = new StringBuilder();
      for (JsonNode t : step.get("top")) {
        if (comp.length() > 0) {
          comp.append(" vs ");
        }
        comp.append('`')
            .append(code(t.get("text").asText()))
            .append("` ")
            .append(Format.logit(t.get("logit")));
        if (comp.length() > 80) {
          break;
        }
      }
      b.append("   - competing: ").append(comp).append('\n');
      b.append("   - reference: …").append(code(around(c.get("ref_tokens"), at))).append("…\n");
      b.append("   - this run:  …").append(code(around(c.get("run_tokens"), at))).append("…\n");
    } else {
      b.append("   - reference: ").append(code(d.get("ref_text").asText())).append('\n');
      b.append("   - this run:  ").append(code(d.get("run_text").asText())).append('\n');
    }
  }

  /** Tokens [at-8, at+8) as one string, the divergent one in brackets. */
  static String around(JsonNode toks, int at) {
    StringBuilder s = new StringBuilder();
    for (int i = Math.max(0, at - 8); i < Math.min(toks.size(), at + 8); i++) {
      String t = toks.get(i).get("text").asText();
      s.append(i == at ? "[" + t + "]" : t);
    }
    return s.toString();
  }

  static String cap(String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= LIMIT) {
      return s;
    }
    String note = "\n\n*(report cut at 64 KB; the full data is in analysis.json)*\n";
    int cut = LIMIT - note.length() - 16;
    String head = new String(bytes, 0, cut, StandardCharsets.UTF_8);
    int nl = head.lastIndexOf('\n');
    return head.substring(0, Math.max(0, nl)) + note;
  }

  /** Markdown-safe text: table pipes, emphasis, HTML brackets and newlines neutralised. */
  static String md(String s) {
    return s.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("*", "\\*")
        .replace("_", "\\_")
        .replace("`", "'")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", " ");
  }

  /** Text shown inside code spans: backticks and newlines made visible. */
  static String code(String s) {
    return s.replace("`", "'").replace("\n", "⏎").replace("<", "&lt;").replace(">", "&gt;");
  }
}
