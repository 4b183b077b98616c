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
  long textOnly;
  long maxTop;

  /** The label of a run's fingerprint ({@code (none)} when the provider gives none). */
  static String fingerprint(RunRecord r) {
    String f = r.provider() == null ? null : r.provider().systemFingerprint();
    return f == null ? "(none)" : f;
  }

  void add(RunRecord rec, RunRecord ref, Analyzer.RunResult result) {
    if (rec.provider() == null || rec.status() != RunRecord.Status.OK) {
      return;
    }
    fingerprints.merge(fingerprint(rec), 1L, Long::sum);
    models.merge(rec.provider().model() == null ? "(none)" : rec.provider().model(), 1L, Long::sum);
    retried += rec.provider().attempts() > 1 ? 1 : 0;
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
