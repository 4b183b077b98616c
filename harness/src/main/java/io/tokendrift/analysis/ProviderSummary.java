package io.tokendrift.analysis;

import io.tokendrift.trace.RunRecord;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an HTTP provider's runs say beyond their tokens: the backends they were answered by (each
 * distinct {@code system_fingerprint}), divergence between runs answered by the same backend
 * fingerprint vs by different ones, the models as answered, retries, and runs recorded as text
 * only.
 */
public final class ProviderSummary {
  final Map<String, Long> fingerprints = new TreeMap<>();
  final Map<String, Long> models = new TreeMap<>();
  long withinCompared;
  long withinDiverged;
  long acrossCompared;
  long acrossDiverged;
  long unknownCompared;
  long unknownDiverged;
  long retried;
  final Map<String, Long> retries = new TreeMap<>();
  long belowConcurrency;
  long equalTexts;
  long cachedRuns;

  /** Point → each run's largest |served − true| logprob (runs with a local truth). */
  final Map<String, java.util.List<Double>> truthErrors = new TreeMap<>();

  long truthSteps;
  long maxCached;
  long textOnly;
  long maxTop;

  /** The label of a run's fingerprint ({@code (none)} when the provider gives none). */
  static String fingerprint(RunRecord r) {
    String f = r.provider() == null ? null : r.provider().systemFingerprint();
    return f == null ? "(none)" : f;
  }

  void add(RunRecord rec, RunRecord ref, Analyzer.RunResult result) {
    if (rec.provider() == null) {
      return;
    }
    // Why requests were sent again, failed runs' included (their retries are a part of the why).
    rec.provider().retries().forEach(t -> retries.merge(t.kind(), 1L, Long::sum));
    retried += rec.provider().attempts() > 1 ? 1 : 0;
    if (rec.status() != RunRecord.Status.OK) {
      return;
    }
    if (Analyzer.lostConcurrency(rec)) {
      belowConcurrency++;
    }
    if (rec.steps() != null && rec.steps().hasExact()) {
      var s = rec.steps();
      double worst = Double.NaN;
      for (int i = 0; i < s.size(); i++) {
        boolean any = false;
        for (int j = 0; j < s.k(); j++) {
          double t = s.topLogit64(i, j);
          float v = s.topLogit(i, j);
          if (!Double.isNaN(t) && !Float.isNaN(v)) {
            double d = Math.abs(v - t);
            worst = Double.isNaN(worst) ? d : Math.max(worst, d);
            any = true;
          }
        }
        truthSteps += any ? 1 : 0;
      }
      if (!Double.isNaN(worst)) {
        truthErrors
            .computeIfAbsent(
                io.tokendrift.trace.PointKey.keyOf(rec.point()), k -> new java.util.ArrayList<>())
            .add(worst);
      }
    }
    if (rec.provider().cachedTokens() > 0) {
      cachedRuns++;
      maxCached = Math.max(maxCached, rec.provider().cachedTokens());
    }
    if (rec.steps() != null && rec.steps().hasTexts()) {
      equalTexts += stepsWithEqualAlternatives(rec);
    }
    fingerprints.merge(fingerprint(rec), 1L, Long::sum);
    models.merge(rec.provider().model() == null ? "(none)" : rec.provider().model(), 1L, Long::sum);
    textOnly += rec.textOnly() ? 1 : 0;
    if (rec.steps() != null && rec.steps().hasTexts()) {
      maxTop = Math.max(maxTop, rec.steps().k());
    }
    if (result.comparison() == null || ref == null) {
      return;
    }
    boolean diverged = !result.comparison().identical();
    if (rec.provider().systemFingerprint() == null
        || ref.provider() == null
        || ref.provider().systemFingerprint() == null) {
      unknownCompared++;
      unknownDiverged += diverged ? 1 : 0;
    } else if (fingerprint(rec).equals(fingerprint(ref))) {
      withinCompared++;
      withinDiverged += diverged ? 1 : 0;
    } else {
      acrossCompared++;
      acrossDiverged += diverged ? 1 : 0;
    }
  }

  /** Steps where two of the provider's alternatives have the same text (different ids). */
  static int stepsWithEqualAlternatives(RunRecord rec) {
    var s = rec.steps();
    int n = 0;
    for (int i = 0; i < s.size(); i++) {
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (int j = 0; j < s.k(); j++) {
        String t = s.topText(i, j);
        if (t != null && !seen.add(t)) {
          n++;
          break;
        }
      }
    }
    return n;
  }

  /** Runs answered by each fingerprint. */
  public Map<String, Long> fingerprints() {
    return fingerprints;
  }

  /** Runs compared with a reference answered under the same fingerprint, and how many diverged. */
  public long[] within() {
    return new long[] {withinCompared, withinDiverged};
  }

  /** The same for runs whose reference was answered under another fingerprint. */
  public long[] across() {
    return new long[] {acrossCompared, acrossDiverged};
  }
}
