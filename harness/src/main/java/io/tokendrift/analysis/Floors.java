package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.trace.PointKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Noise floors: the chosen quantile of per-step |Δlogit| of the runs compared at each point, and of
 * each axis (points that differ from the reference in it alone), with bootstrap intervals.
 *
 * @param byPoint each point's floor, in run order
 * @param byAxis each axis's floor, by axis name
 * @param experiment the largest point floor (upper bound)
 */
record Floors(
    Map<PointKey, Stats.Estimate> byPoint, Map<String, Stats.Estimate> byAxis, double experiment) {

  /** Seed of the bootstrap resampling (fixed: the analysis is reproducible). */
  static final long BOOTSTRAP_SEED = 0x7D_2026L;

  /** The bootstrap resamples at most this many of a condition's values (an even stride). */
  static final int BOOTSTRAP_CAP = 20_000;

  /**
   * The floors of these runs (in the analysis's order), their per-step drift read from {@code
   * drift} one run at a time: exact quantiles from the values' counts, the bootstrap from the
   * evenly strided values of the runs' drifts in this order.
   */
  static Floors of(
      List<RunResult> runs,
      Axes axes,
      Analyzer.Options options,
      java.util.function.Function<RunResult, float[]> drift) {
    Map<PointKey, List<RunResult>> byPoint = new LinkedHashMap<>();
    Map<String, List<RunResult>> byAxis = new TreeMap<>();
    for (RunResult r : runs) {
      if (r.comparison() == null) {
        continue;
      }
      byPoint.computeIfAbsent(r.point(), x -> new ArrayList<>()).add(r);
      List<String> differing = axes.differing(r);
      if (differing.size() == 1) {
        byAxis.computeIfAbsent(differing.get(0), x -> new ArrayList<>()).add(r);
      }
    }
    Map<PointKey, Stats.Estimate> pointFloors = new LinkedHashMap<>();
    Map<String, Stats.Estimate> axisFloors = new LinkedHashMap<>();
    double experiment = 0;
    int i = 0;
    for (Map.Entry<PointKey, List<RunResult>> e : byPoint.entrySet()) {
      Stats.Estimate f = floor(e.getValue(), drift, i++, options);
      pointFloors.put(e.getKey(), f);
      if (!Double.isNaN(f.high())) {
        experiment = Math.max(experiment, f.high());
      }
    }
    for (Map.Entry<String, List<RunResult>> e : byAxis.entrySet()) {
      axisFloors.put(e.getKey(), floor(e.getValue(), drift, i++, options));
    }
    return new Floors(pointFloors, axisFloors, experiment);
  }

  /**
   * {@link Stats#bootstrapQuantile} of the runs' drifts concatenated in order, without holding the
   * concatenation: one read of each run gives the counts (the exact quantile) and the strided
   * values (what is resampled).
   */
  static Stats.Estimate floor(
      List<RunResult> group,
      java.util.function.Function<RunResult, float[]> drift,
      int stream,
      Analyzer.Options options) {
    long n = 0;
    for (RunResult r : group) {
      n += r.comparison().alignedSteps();
    }
    if (n == 0) {
      return new Stats.Estimate(Double.NaN, Double.NaN, Double.NaN, 0);
    }
    int cap = BOOTSTRAP_CAP;
    FloatCounts all = new FloatCounts();
    float[] strided = n > cap ? new float[cap] : null;
    int next = 0; // the next strided value's index
    long start = 0; // where this run's values start in the concatenation
    for (RunResult r : group) {
      float[] v = drift.apply(r);
      if (v.length != r.comparison().alignedSteps()) {
        throw new IllegalStateException(r.id() + ": drift of " + v.length + " steps stored");
      }
      all.add(v);
      while (strided != null && next < cap) {
        long pos = (long) next * n / cap;
        if (pos >= start + v.length) {
          break;
        }
        strided[next++] = v[(int) (pos - start)];
      }
      start += v.length;
    }
    float[] sorted;
    if (strided == null) {
      sorted = all.sorted();
    } else {
      sorted = strided;
      java.util.Arrays.sort(sorted);
    }
    return Stats.bootstrapSorted(
        sorted,
        all.quantile(options.floorQuantile()),
        Math.toIntExact(n),
        options.floorQuantile(),
        options.resamples(),
        BOOTSTRAP_SEED + stream);
  }

  /** Twice the point's floor (upper bound), 0 where it has none: the greedy explained margin. */
  double threshold(PointKey p) {
    Stats.Estimate f = byPoint.get(p);
    if ((f == null || Double.isNaN(f.high())) && "false".equals(p.values().get("logprobs"))) {
      // Runs without logprobs measure no drift: the same point with logprobs on stands in.
      java.util.Map<String, String> on = new java.util.LinkedHashMap<>(p.values());
      on.put("logprobs", "true");
      f = byPoint.get(PointKey.of(on));
    }
    return f == null || Double.isNaN(f.high()) ? 0 : 2 * f.high();
  }

  /**
   * Settles the divergent runs' verdicts. A greedy divergence is explained when the reference's
   * margin at that step is within twice the point's noise floor (upper bound): two logits each
   * moving by the floor move their difference by up to twice it. A sampled divergence follows the
   * same rule in logit units ({@link FlipRule}). Anything else is unexplained: the logits moved
   * more than the condition moves them.
   */
  void settle(List<RunResult> runs, FlipRule.Decoding decoding) {
    for (int i = 0; i < runs.size(); i++) {
      RunResult r = runs.get(i);
      if (r.verdict() != null) {
        continue;
      }
      double threshold = threshold(r.point());
      boolean explained = FlipRule.explained(r.comparison(), decoding, threshold);
      Analyzer.Verdict v = explained ? Analyzer.Verdict.EXPLAINED : Analyzer.Verdict.UNEXPLAINED;
      runs.set(i, r.settled(v, threshold));
    }
  }
}
