package io.tokendrift.check;

import io.tokendrift.analysis.Comparison;
import java.util.Locale;
import java.util.function.IntFunction;

/**
 * The one place a check's per-run message is built, for the console, JUnit XML, Markdown and the
 * JUnit 5 extension alike: prompt, point, step, expected and actual token with ids, margin,
 * verdict.
 */
public final class CheckMessage {
  private CheckMessage() {}

  /**
   * One run's message.
   *
   * @param verdict the verdict's label ({@link Check.Verdict#label()} or, for a run against its
   *     reference, {@link io.tokendrift.analysis.Analyzer.Verdict#label()}), written upper-case
   */
  public static String of(
      String prompt,
      String point,
      int[] expected,
      int[] actual,
      Comparison c,
      String verdict,
      double threshold,
      double tolerance,
      IntFunction<String> text) {
    StringBuilder b = new StringBuilder();
    b.append(verdict.toUpperCase(Locale.ROOT))
        .append(": prompt \"")
        .append(prompt)
        .append("\" at ")
        .append(point);
    if (c == null) {
      return b.toString();
    }
    if (c.identical()) {
      return b.append(
              String.format(
                  Locale.ROOT,
                  ": same tokens, but logits drifted by %.3g (tolerance %.3g)",
                  c.maxDrift(),
                  tolerance))
          .toString();
    }
    int i = c.divIndex();
    b.append(": step ").append(i).append(": expected ");
    b.append(i < expected.length ? token(expected[i], text) : "<end>");
    b.append(", got ");
    b.append(i < actual.length ? token(actual[i], text) : "<end>");
    b.append(
        String.format(
            Locale.ROOT,
            "; reference margin %.4g nats (explained up to %.3g); drift before it %.3g",
            c.refMargin(),
            threshold,
            c.maxDrift()));
    return b.toString();
  }

  static String token(int id, IntFunction<String> text) {
    return "\"" + text.apply(id).replace("\n", "\\n") + "\" (id " + id + ")";
  }
}
