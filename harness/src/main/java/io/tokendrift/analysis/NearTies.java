package io.tokendrift.analysis;

import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import java.util.ArrayList;
import java.util.List;

/**
 * Near-ties in the reference runs: how many steps had a top-1/top-2 margin within the threshold,
 * and for each planted near-tie of the model, its margin and how many runs flipped there.
 */
record NearTies(double threshold, long referenceSteps, long nearTieSteps, List<Planted> planted) {

  /** A planted near-tie found at the first step of the reference run of its prefix. */
  record Planted(
      String id,
      String prefix,
      String kind,
      double margin,
      double top2OverTop1,
      boolean nearTie,
      long flipsAtThisStep) {}

  static NearTies of(Analysis a) {
    double threshold = a.options.nearTie();
    long total = 0;
    long near = 0;
    List<RunRecord> refs = a.sortedRefs();
    for (RunRecord ref : refs) {
      for (int i = 0; i < ref.steps().size(); i++) {
        total++;
        near += ref.steps().margin(i) <= threshold ? 1 : 0;
      }
    }
    List<Planted> planted = new ArrayList<>();
    for (Analyzer.PlantedTie t : a.options.nearTies()) {
      RunRecord ref =
          refs.stream().filter(r -> r.prompt().equals(t.prefix())).findFirst().orElse(null);
      if (ref == null || ref.steps().size() == 0) {
        continue;
      }
      Steps s = ref.steps();
      long flips =
          a.compared().stream()
              .filter(r -> r.prompt().equals(t.prefix()) && r.comparison().divIndex() == 0)
              .count();
      planted.add(
          new Planted(
              t.id(),
              t.prefix(),
              t.kind(),
              s.margin(0),
              Math.exp(-s.margin(0)),
              s.margin(0) <= threshold,
              flips));
    }
    return new NearTies(threshold, total, near, planted);
  }
}
