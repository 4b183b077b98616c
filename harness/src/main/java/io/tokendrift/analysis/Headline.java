package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.trace.RunRecord;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The experiment's totals: how many runs, compared, identical, diverged and why. */
record Headline(
    int runs,
    int compared,
    long references,
    Stats.Proportion identical,
    long diverged,
    long explained,
    long unexplained,
    long failed,
    long skipped,
    long noReference,
    double medianDivIndex,
    int uniqueCompletionsMax,
    Stats.Proportion tarr,
    int tarrN,
    double experimentFloor) {

  static Headline of(Analysis a) {
    List<RunResult> cmp = a.compared();
    long identical = a.count(Verdict.IDENTICAL);
    double[] div = a.divIndices();
    return new Headline(
        a.runs.size(),
        cmp.size(),
        a.count(Verdict.REFERENCE),
        Stats.wilson(identical, cmp.size()),
        cmp.size() - identical,
        a.count(Verdict.EXPLAINED),
        a.count(Verdict.UNEXPLAINED),
        a.count(Verdict.FAILED),
        a.count(Verdict.SKIPPED),
        a.count(Verdict.NO_REFERENCE),
        div.length == 0 ? Double.NaN : Stats.quantile(div, 0.5),
        uniqueCompletions(a.runs).values().stream().mapToInt(Set::size).max().orElse(0),
        a.tarr(a.runs),
        a.repeats(),
        a.experimentFloor());
  }

  /** Distinct token sequences per (prompt, seed) over every ok run. */
  static Map<String, Set<Long>> uniqueCompletions(List<RunResult> runs) {
    Map<String, Set<Long>> m = new TreeMap<>();
    for (RunResult r : runs) {
      if (r.status() == RunRecord.Status.OK) {
        m.computeIfAbsent(r.promptId() + " seed " + r.seed(), x -> new HashSet<>())
            .add(r.tokensHash());
      }
    }
    return m;
  }
}
