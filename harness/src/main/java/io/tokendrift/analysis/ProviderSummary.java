package io.tokendrift.analysis;

import io.tokendrift.trace.RunRecord;
import java.util.List;
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

  /** Against which reference a provider's run was compared. */
  enum Against {
    NONE,
    UNKNOWN,
    WITHIN,
    ACROSS
  }

  /**
   * What one provider run brings: why it was sent again, and for an ok run its backend, model,
   * cache, texts, error against a local truth and the comparison's fingerprint class.
   *
   * @param retries each retry's kind, in order
   * @param truthWorst its largest |served − true| logprob (NaN when none)
   * @param truthSteps steps with a served and a true value
   * @param top the number of alternatives its steps carry texts for (0 when none)
   */
  record Seen(
      List<String> retries,
      boolean retried,
      boolean ok,
      boolean belowConcurrency,
      String point,
      double truthWorst,
      long truthSteps,
      long cachedTokens,
      int equalTexts,
      String fingerprint,
      String model,
      boolean textOnly,
      int top,
      Against against,
      boolean diverged) {}

  /** Pass 2: what a run brings; null for a local engine's run. */
  static Seen seen(RunRecord rec, RunRecord ref, Analyzer.RunResult result) {
    if (rec.provider() == null) {
      return null;
    }
    // Why requests were sent again, failed runs' included (their retries are a part of the why).
    List<String> retries = rec.provider().retries().stream().map(t -> t.kind()).toList();
    boolean retried = rec.provider().attempts() > 1;
    if (rec.status() != RunRecord.Status.OK) {
      return new Seen(
          retries,
          retried,
          false,
          false,
          null,
          Double.NaN,
          0,
          0,
          0,
          null,
          null,
          false,
          0,
          Against.NONE,
          false);
    }
    double worst = Double.NaN;
    long truthSteps = 0;
    if (rec.steps() != null && rec.steps().hasExact()) {
      var s = rec.steps();
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
    }
    boolean texts = rec.steps() != null && rec.steps().hasTexts();
    Against against = Against.NONE;
    boolean diverged = false;
    if (result.comparison() != null && ref != null) {
      diverged = !result.comparison().identical();
      if (rec.provider().systemFingerprint() == null
          || ref.provider() == null
          || ref.provider().systemFingerprint() == null) {
        against = Against.UNKNOWN;
      } else {
        against = fingerprint(rec).equals(fingerprint(ref)) ? Against.WITHIN : Against.ACROSS;
      }
    }
    return new Seen(
        retries,
        retried,
        true,
        Analyzer.lostConcurrency(rec),
        io.tokendrift.trace.PointKey.keyOf(rec.point()),
        worst,
        truthSteps,
        rec.provider().cachedTokens(),
        texts ? stepsWithEqualAlternatives(rec) : 0,
        fingerprint(rec),
        rec.provider().model() == null ? "(none)" : rec.provider().model(),
        rec.textOnly(),
        texts ? rec.steps().k() : 0,
        against,
        diverged);
  }

  /** Pass 2 (or a combine): counts what a run brought, in the order the runs come. */
  void add(Seen s) {
    s.retries().forEach(k -> retries.merge(k, 1L, Long::sum));
    retried += s.retried() ? 1 : 0;
    if (!s.ok()) {
      return;
    }
    if (s.belowConcurrency()) {
      belowConcurrency++;
    }
    truthSteps += s.truthSteps();
    if (!Double.isNaN(s.truthWorst())) {
      truthErrors.computeIfAbsent(s.point(), k -> new java.util.ArrayList<>()).add(s.truthWorst());
    }
    if (s.cachedTokens() > 0) {
      cachedRuns++;
      maxCached = Math.max(maxCached, s.cachedTokens());
    }
    equalTexts += s.equalTexts();
    fingerprints.merge(s.fingerprint(), 1L, Long::sum);
    models.merge(s.model(), 1L, Long::sum);
    textOnly += s.textOnly() ? 1 : 0;
    maxTop = Math.max(maxTop, s.top());
    switch (s.against()) {
      case UNKNOWN -> {
        unknownCompared++;
        unknownDiverged += s.diverged() ? 1 : 0;
      }
      case WITHIN -> {
        withinCompared++;
        withinDiverged += s.diverged() ? 1 : 0;
      }
      case ACROSS -> {
        acrossCompared++;
        acrossDiverged += s.diverged() ? 1 : 0;
      }
      case NONE -> {
        // not compared with a reference
      }
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
