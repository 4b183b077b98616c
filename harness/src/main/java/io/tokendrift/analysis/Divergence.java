package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One divergent run, ranked worst first, with its reference.
 *
 * @param run the divergent run
 * @param ref the reference it was compared with
 * @param axes the axes its point changed, comma-separated
 * @param refMarginScaled the reference margin divided by the temperature (when sampling)
 * @param rank 1 for the worst
 * @param context the tokens around the divergence, for the first {@link Analysis#CONTEXTS}; or null
 */
record Divergence(
    RunResult run, Reference ref, String axes, double refMarginScaled, int rank, Context context) {

  /** The reference's tokens with margins and top alternatives, and the run's tokens. */
  record Context(List<RefToken> refTokens, List<Token> runTokens) {}

  /** A reference token, its margin, and up to five top alternatives (the token among them). */
  record RefToken(int id, String text, double margin, List<Alternative> top) {}

  record Alternative(int id, String text, double logit) {}

  record Token(int id, String text) {}

  /** Divergent runs, worst first: unexplained before explained, then larger margins first. */
  static List<RunResult> worst(List<RunResult> runs) {
    return runs.stream()
        .filter(r -> r.comparison() != null && !r.comparison().identical())
        .sorted(
            Comparator.comparing((RunResult r) -> r.verdict() == Verdict.EXPLAINED)
                .thenComparing(
                    r -> Double.isNaN(r.comparison().refMargin()) ? 0 : -r.comparison().refMargin())
                .thenComparing(RunResult::id))
        .toList();
  }

  /** Every divergent run, worst first; token texts from the analysis's tokenizer, if any. */
  static List<Divergence> of(Analysis a) {
    List<Divergence> out = new ArrayList<>();
    int rank = 0;
    for (RunResult r : worst(a.runs)) {
      rank++;
      Comparison c = r.comparison();
      Reference ref = a.referenceOf(r);
      double scaled = a.temperature > 0 ? c.refMargin() / a.temperature : c.refMargin();
      out.add(
          new Divergence(
              r,
              ref,
              String.join(",", a.axes.differing(r)),
              scaled,
              rank,
              rank <= Analysis.CONTEXTS ? context(a, ref, r) : null));
    }
    return out;
  }

  private static Context context(Analysis a, Reference reference, RunResult r) {
    RunRecord ref = reference.record();
    Steps s = ref.steps();
    List<RefToken> refTokens = new ArrayList<>();
    for (int i = 0; i < ref.tokens().length; i++) {
      int id = ref.tokens()[i];
      String text = a.text(id);
      List<Alternative> top = new ArrayList<>();
      for (int j = 0; j < Math.min(5, s.k()); j++) {
        if (s.topId(i, j) >= 0) {
          top.add(new Alternative(s.topId(i, j), a.text(s.topId(i, j)), s.topLogit(i, j)));
        }
      }
      refTokens.add(new RefToken(id, text, s.margin(i), top));
    }
    List<Token> runTokens = new ArrayList<>();
    for (int id : a.runTokens(r)) {
      runTokens.add(new Token(id, a.text(id)));
    }
    return new Context(refTokens, runTokens);
  }
}
