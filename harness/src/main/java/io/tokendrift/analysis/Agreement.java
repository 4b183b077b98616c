package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import java.util.ArrayList;
import java.util.List;

/**
 * Exact-agreement rate of every (prompt, point) cell: the heatmap's data.
 *
 * @param prompts prompt ids with compared runs, sorted
 * @param points point keys, in run order
 * @param identicalRate per prompt, per point: the share of compared runs identical to their
 *     reference (null where the cell has none)
 */
record Agreement(List<String> prompts, List<String> points, List<List<Double>> identicalRate) {

  static Agreement of(Analysis a) {
    List<RunResult> cmp = a.compared();
    List<String> prompts = cmp.stream().map(RunResult::promptId).distinct().sorted().toList();
    List<String> points = new ArrayList<>();
    for (RunResult r : a.runs) {
      if (!points.contains(r.point().key())) {
        points.add(r.point().key());
      }
    }
    List<List<Double>> rates = new ArrayList<>();
    for (String p : prompts) {
      List<Double> row = new ArrayList<>();
      for (String k : points) {
        long all = 0;
        long same = 0;
        for (RunResult r : cmp) {
          if (r.promptId().equals(p) && r.point().key().equals(k)) {
            all++;
            same += r.comparison().identical() ? 1 : 0;
          }
        }
        row.add(all == 0 ? null : same / (double) all);
      }
      rates.add(row);
    }
    return new Agreement(prompts, points, rates);
  }
}
