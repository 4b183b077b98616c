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

  static Floors of(List<RunResult> runs, Axes axes, Analyzer.Options options) {
    Map<PointKey, List<float[]>> byPoint = new LinkedHashMap<>();
    Map<String, List<float[]>> byAxis = new TreeMap<>();
    for (RunResult r : runs) {
      if (r.comparison() == null) {
        continue;
      }
      byPoint.computeIfAbsent(r.point(), x -> new ArrayList<>()).add(r.comparison().perStepDrift());
      List<String> differing = axes.differing(r);
      if (differing.size() == 1) {
        byAxis
            .computeIfAbsent(differing.get(0), x -> new ArrayList<>())
            .add(r.comparison().perStepDrift());
      }
    }
    Map<PointKey, Stats.Estimate> pointFloors = new LinkedHashMap<>();
    Map<String, Stats.Estimate> axisFloors = new LinkedHashMap<>();
    double experiment = 0;
    int i = 0;
    for (Map.Entry<PointKey, List<float[]>> e : byPoint.entrySet()) {
      Stats.Estimate f = floor(concat(e.getValue()), i++, options);
      pointFloors.put(e.getKey(), f);
      if (!Double.isNaN(f.high())) {
        experiment = Math.max(experiment, f.high());
      }
    }
    for (Map.Entry<String, List<float[]>> e : byAxis.entrySet()) {
      axisFloors.put(e.getKey(), floor(concat(e.getValue()), i++, options));
    }
    return new Floors(pointFloors, axisFloors, experiment);
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

  private static Stats.Estimate floor(float[] v, int stream, Analyzer.Options options) {
    return Stats.bootstrapQuantile(
        v, options.floorQuantile(), options.resamples(), 20_000, BOOTSTRAP_SEED + stream);
  }

  static float[] concat(List<float[]> parts) {
    int n = 0;
    for (float[] p : parts) {
      n += p.length;
    }
    float[] out = new float[n];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
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
