package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.trace.Expectation;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.commons.math3.stat.descriptive.moment.StandardDeviation;

/**
 * What the drift does to answers, for prompts with an expected answer ({@code expect:}): accuracy
 * per condition (point) with its Wilson interval — over the first repeat of each prompt and seed,
 * the independent trials (repeats of a deterministic condition are copies of it, not evidence) —
 * the spread of accuracy across conditions (max − min and standard deviation, as Yuan et al. 2025
 * report it), agreement of parsed answers across repeats (TARa@N, Atil et al.) beside agreement of
 * raw outputs (TARr@N) over the same runs, and the output length per condition.
 *
 * @param prompts prompts with an expected answer
 * @param points per point, in the analysis's point order
 * @param spread max − min of the points' accuracies (NaN with fewer than two points)
 * @param sd their sample standard deviation (NaN with fewer than two points)
 * @param best the point of highest accuracy (the first on a tie)
 * @param worst the point of lowest accuracy (the first on a tie)
 * @param tara (prompt, point, seed) groups of two or more runs whose parsed answers all agree
 * @param tarr the same groups whose outputs all agree
 * @param repeats N of TARa@N
 * @param lengthSpread max − min of the points' mean output lengths, in tokens
 */
public record Answers(
    int prompts,
    List<PointAnswers> points,
    double spread,
    double sd,
    String best,
    String worst,
    Stats.Proportion tara,
    Stats.Proportion tarr,
    int repeats,
    double lengthSpread) {

  /**
   * One condition.
   *
   * @param point its key
   * @param correct repeat-0 ok runs of prompts with an expected answer that gave it
   * @param meanLength their mean output length in tokens
   */
  public record PointAnswers(String point, Stats.Proportion correct, double meanLength) {}

  /** Null when no prompt has an expected answer. */
  static Answers of(Analysis a) {
    Map<String, Expectation> expect = new HashMap<>();
    a.header.expectations().forEach((id, json) -> expect.put(id, Expectation.parse(json)));
    if (expect.isEmpty()) {
      return null;
    }
    Map<String, long[]> byPoint = new LinkedHashMap<>(); // {runs, correct, tokens}
    Map<String, Set<String>> parsed = new TreeMap<>();
    Map<String, Set<Long>> raw = new TreeMap<>();
    Map<String, Integer> sizes = new HashMap<>();
    for (RunResult r : a.runs) {
      Expectation e = expect.get(r.promptId());
      if (e == null
          || r.status() != RunRecord.Status.OK
          || r.verdict() == Analyzer.Verdict.SKIPPED) {
        continue; // failed, or (a provider's) sent below its concurrency: not this condition's
      }
      long[] c = byPoint.computeIfAbsent(r.point().key(), k -> new long[3]);
      if (r.repeat() == 0) {
        c[0]++;
        c[1] += e.correct(a.runText(r)) ? 1 : 0;
        c[2] += r.length();
      }
      String g = r.promptId() + "|" + r.point().key() + "|" + r.seed();
      parsed.computeIfAbsent(g, k -> new HashSet<>()).add(e.parsed(a.runText(r)));
      raw.computeIfAbsent(g, k -> new HashSet<>()).add(r.tokensHash());
      sizes.merge(g, 1, Integer::sum);
    }
    List<PointAnswers> points = new ArrayList<>();
    byPoint.forEach(
        (k, c) -> {
          if (c[0] > 0) {
            points.add(new PointAnswers(k, Stats.wilson(c[1], c[0]), (double) c[2] / c[0]));
          }
        });
    double[] rates = points.stream().mapToDouble(p -> p.correct().rate()).toArray();
    double[] lengths = points.stream().mapToDouble(PointAnswers::meanLength).toArray();
    String best = null;
    String worst = null;
    double hi = Double.NEGATIVE_INFINITY;
    double lo = Double.POSITIVE_INFINITY;
    for (PointAnswers p : points) {
      if (p.correct().rate() > hi) {
        hi = p.correct().rate();
        best = p.point();
      }
      if (p.correct().rate() < lo) {
        lo = p.correct().rate();
        worst = p.point();
      }
    }
    long groups = 0;
    long sameAnswer = 0;
    long sameOutput = 0;
    for (Map.Entry<String, Integer> g : sizes.entrySet()) {
      if (g.getValue() < 2) {
        continue;
      }
      groups++;
      sameAnswer += parsed.get(g.getKey()).size() == 1 ? 1 : 0;
      sameOutput += raw.get(g.getKey()).size() == 1 ? 1 : 0;
    }
    boolean two = points.size() >= 2;
    return new Answers(
        expect.size(),
        points,
        two ? hi - lo : Double.NaN,
        two ? new StandardDeviation(true).evaluate(rates) : Double.NaN,
        best,
        worst,
        Stats.wilson(sameAnswer, groups),
        Stats.wilson(sameOutput, groups),
        a.repeats(),
        lengths.length == 0
            ? Double.NaN
            : java.util.Arrays.stream(lengths).max().getAsDouble()
                - java.util.Arrays.stream(lengths).min().getAsDouble());
  }

  /** The reference point's accuracy, or null when no run of it has an expected answer. */
  public Stats.Proportion atReference(PointKey reference) {
    for (PointAnswers p : points) {
      if (p.point().equals(reference.key())) {
        return p.correct();
      }
    }
    return null;
  }
}
