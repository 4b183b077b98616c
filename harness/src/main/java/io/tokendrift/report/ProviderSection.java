package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * The report's provider section (traces of an HTTP provider): that full logits were not available,
 * the backend fingerprints that answered, and divergence within one fingerprint vs across
 * fingerprints — a backend change is not numerical noise.
 */
final class ProviderSection {
  private ProviderSection() {}

  /** The section's sentences, or null for a local engine's analysis. */
  static String sentences(JsonNode a) {
    JsonNode p = a.get("provider");
    if (p == null) {
      return null;
    }
    JsonNode w = p.get("within_fingerprint");
    JsonNode x = p.get("across_fingerprints");
    StringBuilder b = new StringBuilder();
    b.append("Full logits were ")
        .append(p.get("logits").asText())
        .append(". Within one backend fingerprint ")
        .append(count(w))
        .append("; across fingerprints ")
        .append(count(x))
        .append('.');
    JsonNode u = p.path("without_fingerprint");
    if (u.path("compared").asLong() > 0) {
      b.append(" Runs without a fingerprint (the provider gave none) cannot be placed: ")
          .append(count(u))
          .append('.');
    }
    long retried = p.path("runs_retried").asLong();
    if (retried > 0) {
      b.append(' ').append(retried).append(" run(s) needed a retry");
      StringBuilder kinds = new StringBuilder();
      p.path("retries")
          .fields()
          .forEachRemaining(
              e ->
                  kinds
                      .append(kinds.length() == 0 ? "" : ", ")
                      .append(e.getValue().asLong())
                      .append(" × ")
                      .append(e.getKey()));
      b.append(kinds.length() == 0 ? "." : " (attempts sent again: " + kinds + ").");
    }
    long below = p.path("runs_below_concurrency").asLong();
    if (below > 0) {
      b.append(' ')
          .append(below)
          .append(
              " run(s) were in flight with fewer requests than their point's concurrency (a retry"
                  + " sent after the rest had their answers, a client-side rate limit, or replies"
                  + " faster than the wave could be sent): they did not run at that concurrency, so"
                  + " they are left out of the comparison (counted as skipped).");
    }
    JsonNode truth = p.path("truth");
    if (!truth.isMissingNode()) {
      b.append(" Against the served model run locally in float64 (truth: {model}): served logprobs")
          .append(" differ from the true ones by up to ")
          .append(Format.num(truth.get("max_error")))
          .append(" over ")
          .append(truth.path("steps").asLong())
          .append(" steps — the server's own numerical error, beside its run-to-run noise.");
    }
    long cached = p.path("prompt_cache").path("runs").asLong();
    if (cached > 0) {
      b.append(' ')
          .append(cached)
          .append(" run(s) had part of their prompt served from the provider's cache (up to ")
          .append(p.path("prompt_cache").path("max_cached_tokens").asLong())
          .append(" tokens, usage.prompt_tokens_details.cached_tokens).");
    }
    long equal = p.path("steps_with_equal_alternatives").asLong();
    if (equal > 0) {
      b.append(' ')
          .append(equal)
          .append(
              " step(s) listed two alternatives with the same text (different tokens that decode"
                  + " alike); both are kept, in the provider's order, and share one id.");
    }
    long text = p.path("runs_text_only").asLong();
    if (text > 0) {
      b.append(' ')
          .append(text)
          .append(
              " run(s) were asked without logprobs and compare by text: their divergence step is"
                  + " the reference's token where the texts part.");
    }
    return b.toString();
  }

  private static String count(JsonNode n) {
    long c = n.get("compared").asLong();
    long d = n.get("diverged").asLong();
    return c == 0
        ? "no run was compared"
        : String.format(Locale.ROOT, "%d of %d compared runs diverged", d, c);
  }

  static void markdown(StringBuilder b, JsonNode a) {
    String s = sentences(a);
    if (s == null) {
      return;
    }
    b.append("## Provider\n\n").append(MarkdownReport.md(s)).append("\n\n");
    b.append("| system_fingerprint | runs |\n|---|---:|\n");
    a.get("provider")
        .get("fingerprints")
        .fields()
        .forEachRemaining(
            e ->
                b.append("| ")
                    .append(MarkdownReport.code(e.getKey()))
                    .append(" | ")
                    .append(e.getValue().asLong())
                    .append(" |\n"));
    b.append('\n');
  }

  static void html(StringBuilder b, JsonNode a) {
    String s = sentences(a);
    if (s == null) {
      return;
    }
    b.append("<h2>Provider</h2>\n<p>").append(Html.text(s)).append("</p>\n");
    b.append("<table class=\"kv\"><tr><th>system_fingerprint</th><th>runs</th></tr>");
    a.get("provider")
        .get("fingerprints")
        .fields()
        .forEachRemaining(
            e ->
                b.append("<tr><td><code>")
                    .append(Html.text(e.getKey()))
                    .append("</code></td><td class=\"num\">")
                    .append(e.getValue().asLong())
                    .append("</td></tr>"));
    b.append("</table>\n");
  }
}
