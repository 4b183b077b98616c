package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.trace.RunRecord;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.commons.math3.stat.descriptive.moment.StandardDeviation;

/**
 * One prompt over every point: how many distinct completions a seed gave, the spread of lengths,
 * and repeatability.
 *
 * @param uniqueCompletions the most distinct token sequences any one seed produced
 */
record PromptStats(
    String id,
    String prompt,
    int runs,
    int uniqueCompletions,
    double lengthMin,
    double lengthMax,
    double lengthSd,
    Stats.Proportion tarr) {

  /** One entry per prompt id, in id order. */
  static List<PromptStats> of(Analysis a) {
    Map<String, List<RunResult>> byPrompt = new TreeMap<>();
    for (RunResult r : a.runs) {
      byPrompt.computeIfAbsent(r.promptId(), x -> new ArrayList<>()).add(r);
    }
    List<PromptStats> out = new ArrayList<>();
    byPrompt.forEach((id, rs) -> out.add(of(a, id, rs)));
    return out;
  }

  private static PromptStats of(Analysis a, String id, List<RunResult> rs) {
    Map<Long, Set<Long>> perSeed = new TreeMap<>();
    double[] lengths =
        rs.stream()
            .filter(r -> r.status() == RunRecord.Status.OK)
            .mapToDouble(RunResult::length)
            .toArray();
    for (RunResult r : rs) {
      if (r.status() == RunRecord.Status.OK) {
        perSeed.computeIfAbsent(r.seed(), x -> new HashSet<>()).add(r.tokensHash());
      }
    }
    return new PromptStats(
        id,
        rs.get(0).prompt(),
        rs.size(),
        perSeed.values().stream().mapToInt(Set::size).max().orElse(0),
        Arrays.stream(lengths).min().orElse(Double.NaN),
        Arrays.stream(lengths).max().orElse(Double.NaN),
        sd(lengths),
        a.tarr(rs));
  }

  static double sd(double[] v) {
    if (v.length < 2) {
      return v.length == 1 ? 0 : Double.NaN;
    }
    return new StandardDeviation().evaluate(v);
  }
}
