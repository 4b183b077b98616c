package io.tokendrift.report;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.analysis.Compare;
import io.tokendrift.analysis.Stats;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The plain-words sentences a person reads first: the analysis summary (printed by run and analyze,
 * and written into analysis.json) and the comparison summary (printed by compare, written into
 * compare.json).
 */
public final class Sentences {
  private Sentences() {}

  /**
   * The new run against float64, for {@code check}: where its reference left the true path and each
   * condition's error; "" without a float64 point.
   */
  public static String truth(Analysis a) {
    return TruthSection.sentence(a).strip();
  }

  /** One sentence a person reads first, then how far each varied condition moves the logits. */
  public static String summary(Analysis a) {
    StringBuilder floors = new StringBuilder();
    for (Map.Entry<String, Stats.Estimate> e : a.axisFloors().entrySet()) {
      if (!Double.isNaN(e.getValue().value())) {
        floors
            .append(floors.length() == 0 ? "" : ", ")
            .append(e.getKey())
            .append(' ')
            .append(fmt(e.getValue().high()));
      }
    }
    String tail =
        floors.length() == 0
            ? ""
            : " Noise floor by condition (99th percentile |Δ"
                + unit(a)
                + "|, upper 95% bound): "
                + floors
                + ".";
    long skipped = a.count(Verdict.SKIPPED);
    long failed = a.count(Verdict.FAILED);
    String missing =
        skipped + failed == 0
            ? ""
            : String.format(
                Locale.ROOT,
                " %d run(s) skipped (a device the spec marks optional is not here, a point its"
                    + " engine cannot run, or a provider's run that lost its concurrency) and %d"
                    + " failed;"
                    + " the trace holds the reasons.",
                skipped,
                failed);
    return verdict(a)
        + GroupSection.sentences(a)
        + TruthSection.sentence(a)
        + AnswersSection.sentence(a)
        + missing
        + incomplete(a)
        + micro(a)
        + tail;
  }

  /** Runs the grid asks for that the traces lack, and records cut off at their end. */
  static String incomplete(Analysis a) {
    StringBuilder b = new StringBuilder();
    if (a.missingRuns() > 0) {
      b.append(
          String.format(
              Locale.ROOT,
              " Incomplete: %,d of the grid's %,d runs are not in the trace (`run --resume`"
                  + " records them).",
              a.missingRuns(),
              a.header().gridSize()));
    }
    for (String t : a.tornRecords()) {
      b.append(" The last record of ").append(t).append(" was cut off and is ignored.");
    }
    return b.toString();
  }

  /** Recall of the planted micro-ties, when the model has any on the experiment's paths. */
  static String micro(Analysis a) {
    Analysis.MicroTieRecall m = a.microTieRecall();
    if (m.reached() == 0) {
      return "";
    }
    return String.format(
            Locale.ROOT,
            " Planted micro-ties flagged at-risk: %d of %d reached; %d flipped in some run.",
            m.flagged(),
            m.reached(),
            m.flipped())
        + (m.flipped() == 0 ? " No condition flipped a planted micro-tie on this machine." : "");
  }

  /** How many runs diverged, whether numerical noise explains them, and along which axes. */
  static String verdict(Analysis a) {
    List<RunResult> cmp = a.compared();
    long diverged = cmp.stream().filter(r -> !r.comparison().identical()).count();
    long unexplained = a.count(Verdict.UNEXPLAINED);
    long explained = a.count(Verdict.EXPLAINED);
    if (cmp.isEmpty()) {
      return "No run could be compared with a reference run.";
    }
    if (diverged == 0) {
      return String.format(
          Locale.ROOT,
          "All %d compared runs matched their reference token for token; the largest %s drift"
              + " was %s.",
          cmp.size(),
          unit(a),
          fmt(cmp.stream().mapToDouble(r -> r.comparison().maxDrift()).max().orElse(0)));
    }
    String by =
        a.divergedByAxes().entrySet().stream()
            .sorted(
                Map.Entry.<String, Long>comparingByValue()
                    .reversed()
                    .thenComparing(Map.Entry.comparingByKey()))
            .map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", "));
    String kind =
        unexplained == 0
            ? "all at near-ties within the noise floor of their condition"
            : explained == 0
                ? "none explained by numerical noise (the "
                    + unit(a)
                    + "s moved more than the conditions move them)"
                : explained
                    + " at near-ties within the noise floor, "
                    + unexplained
                    + " unexplained";
    return String.format(
        Locale.ROOT,
        "%d of %d runs diverged from their reference; %s. Divergences by changed axis: %s. First"
            + " divergence at token %s at the median.",
        diverged,
        cmp.size(),
        kind,
        by,
        fmt(Stats.quantile(a.divIndices(), 0.5)));
  }

  /**
   * What the analysis's drifts are differences of: logits for a local engine, log-probabilities for
   * an HTTP provider (which gives no logits).
   */
  static String unit(Analysis a) {
    return a.provider() == null ? "logit" : "logprob";
  }

  /** Within each experiment and across them, in one paragraph. */
  public static String compare(Compare c) {
    long[] w = c.within();
    int drifted = c.drifted().size();
    return String.format(
        Locale.ROOT,
        "Within each: A diverged from its reference in %d of %d runs, B in %d of %d (Fisher p = %s)."
            + " Across: %d of %d runs of B differ from their twin in A; %d explained by A's noise"
            + " floor (%s), %d unexplained; %d drift beyond tolerance (%s, largest drift %s). %s",
        w[0],
        w[1],
        w[2],
        w[3],
        fmt(c.divergenceRateP()),
        c.differing(),
        c.pairs().size(),
        c.count(Verdict.EXPLAINED),
        fmt(c.a().experimentFloor()),
        c.count(Verdict.UNEXPLAINED),
        drifted,
        fmt(c.tolerance()),
        fmt(c.maxDrift()),
        c.changed() ? "B changed." : "No change.");
  }

  /** A number as the sentences write it: integers whole, others to three significant digits. */
  public static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      return Long.toString((long) v);
    }
    return new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
  }
}
