package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.MathContext;

/** Numbers for people: three significant digits, percentages, n/a for missing values. */
final class Format {
  private Format() {}

  static String num(JsonNode v) {
    if (v == null || v.isNull()) {
      return "n/a";
    }
    return num(v.asDouble());
  }

  static String num(double d) {
    if (Double.isNaN(d)) {
      return "n/a";
    }
    if (d == Math.rint(d) && Math.abs(d) < 1e9) {
      return Long.toString((long) d);
    }
    if (Math.abs(d) < 1e-3) {
      return String.format(java.util.Locale.ROOT, "%.2e", d);
    }
    return new BigDecimal(d).round(new MathContext(3)).stripTrailingZeros().toPlainString();
  }

  /** A logit with four decimals: near-ties differ in the third. */
  static String logit(JsonNode v) {
    return v == null || v.isNull()
        ? "n/a"
        : String.format(java.util.Locale.ROOT, "%.4f", v.asDouble());
  }

  /**
   * What an analysis's drifts are differences of: logits, or log-probabilities for an HTTP provider
   * (which gives no logits).
   */
  static String unit(JsonNode a) {
    return a.hasNonNull("provider") ? "logprob" : "logit";
  }

  /**
   * The drift of one of the reference's top tokens at a divergence ({@code field} of {@code d}).
   * Missing, it says why in words: the run ended before that step, it was compared by text only (no
   * logprobs), or the token was not among the run's alternatives — a provider lists only its top N.
   */
  static String drift(JsonNode a, JsonNode d, String field) {
    JsonNode v = d.get(field);
    if (v != null && !v.isNull()) {
      return num(v);
    }
    if (d.path("prefix_only").asBoolean()) {
      return "(past the shorter run's end)";
    }
    if (a.hasNonNull("provider")
        && (d.path("ref_margin").isNull() || d.path("ref_margin").isMissingNode())) {
      return "(compared by text only)"; // a provider's run asked without logprobs
    }
    if (a.hasNonNull("provider")) {
      long n = a.get("provider").path("top_logprobs").asLong();
      return n > 0 ? "(left this run's top " + n + ")" : "(not among this run's alternatives)";
    }
    return "(not in this run's recorded top-K)";
  }

  /** "k/n = r% [low%, high%]". */
  static String proportion(JsonNode p) {
    if (p.get("n").asInt() == 0) {
      return "n/a";
    }
    return p.get("k").asInt()
        + "/"
        + p.get("n").asInt()
        + " = "
        + pct(p.get("rate").asDouble())
        + " ["
        + pct(p.get("low").asDouble())
        + ", "
        + pct(p.get("high").asDouble())
        + "]";
  }

  static String pct(double r) {
    if (Math.abs(r) < 5e-6) {
      return "0%"; // an interval bound of 1e-18 is zero in floating-point clothing
    }
    return new BigDecimal(100 * r).round(new MathContext(3)).stripTrailingZeros().toPlainString()
        + "%";
  }
}
