package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import java.util.List;

/** Kaplan–Meier survival of the runs' first divergence. */
public final class Survival {
  private Survival() {}

  /**
   * Kaplan–Meier share of compared runs not yet diverged by step t (t = 0..maxLen-1): a run that
   * ends without diverging is censored at its length.
   */
  public static double[] of(List<RunResult> compared) {
    int maxT = 0;
    for (RunResult r : compared) {
      maxT = Math.max(maxT, Math.max(r.length(), r.comparison().divIndex() + 1));
    }
    int[] events = new int[maxT + 1];
    int[] exits = new int[maxT + 2]; // leaves the risk set after step t (event or censoring)
    for (RunResult r : compared) {
      Comparison c = r.comparison();
      if (c.identical()) {
        exits[Math.max(0, r.length())]++; // at risk for steps 0..length-1
      } else {
        events[c.divIndex()]++;
        exits[c.divIndex() + 1]++;
      }
    }
    double[] s = new double[maxT];
    int atRisk = compared.size();
    double surv = 1;
    for (int t = 0; t < maxT; t++) {
      atRisk -= exits[t];
      if (atRisk > 0) {
        surv *= 1 - events[t] / (double) atRisk;
      }
      s[t] = surv;
    }
    return s;
  }
}
