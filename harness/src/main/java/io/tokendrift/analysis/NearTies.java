package io.tokendrift.analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * Near-ties in the reference runs: how many steps had a top-1/top-2 margin within the threshold,
 * and for each planted near-tie of the model, its margin and how many runs flipped there.
 */
record NearTies(double threshold, long referenceSteps, long nearTieSteps, List<Planted> planted) {

  /**
   * A planted near-tie found on the reference run of its prompt.
   *
   * @param atRisk the reference margin there is within the explained threshold (twice the noise
   *     floor) of some point that ran the prompt: the analysis expected flips there
   */
  record Planted(
      String id,
      String prefix,
      String kind,
      int step,
      double margin,
      double top2OverTop1,
      boolean nearTie,
      boolean atRisk,
      long flipsAtThisStep) {}

  /** Planted micro-ties reached by a reference run, and how many of those the analysis flagged. */
  long microReached() {
    return planted.stream().filter(p -> p.kind().equals("micro")).count();
  }

  long microFlagged() {
    return planted.stream().filter(p -> p.kind().equals("micro") && p.atRisk()).count();
  }

  static NearTies of(Analysis a) {
    double threshold = a.options.nearTie();
    long total = 0;
    long near = 0;
    List<Reference> refs = a.sortedRefs();
    for (Reference ref : refs) {
      for (int i = 0; i < ref.size(); i++) {
        total++;
        near += ref.margin(i) <= threshold ? 1 : 0;
      }
    }
    List<Planted> planted = new ArrayList<>();
    for (Analyzer.PlantedTie t : a.options.nearTies()) {
      Reference ref = refs.stream().filter(t::reachedBy).findFirst().orElse(null);
      if (ref == null) {
        continue;
      }
      double m = ref.margin(t.step());
      List<Analyzer.RunResult> runs =
          a.compared().stream().filter(r -> r.prompt().equals(t.prefix())).toList();
      long flips = runs.stream().filter(r -> r.comparison().divIndex() == t.step()).count();
      double risk = 0;
      for (Analyzer.RunResult r : runs) {
        risk = Math.max(risk, a.floors.threshold(r.point()));
      }
      planted.add(
          new Planted(
              t.id(),
              t.prefix(),
              t.kind(),
              t.step(),
              m,
              Math.exp(-m),
              m <= threshold,
              m <= risk,
              flips));
    }
    return new NearTies(threshold, total, near, planted);
  }
}
