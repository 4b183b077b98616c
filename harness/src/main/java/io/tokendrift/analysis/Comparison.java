package io.tokendrift.analysis;

import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import java.util.Arrays;

/**
 * One run against its reference run (same prompt and seed at the reference point): did it diverge,
 * where, how far its logits drifted before that, and how close the reference's choice was there.
 *
 * @param divIndex first step whose token differs (the field's Div_Index), or -1 when identical
 * @param lengthDiff run length minus reference length, in tokens
 * @param alignedSteps steps compared for drift: those with identical history (through divIndex)
 * @param perStepDrift per aligned step, max |Δlogit| over ids in both top-K lists; empty in an
 *     analysis's results, which keep it out of the heap ({@link Analysis#drift})
 * @param maxDrift max of perStepDrift (0 when nothing aligned)
 * @param typicalDrift median of perStepDrift
 * @param maxDriftUlps max |Δlogit| in units in the last place of the reference value
 * @param refMargin reference top-1 minus top-2 raw logit at divIndex (NaN when not diverged or no
 *     step there)
 * @param driftTop1 run minus reference logit of the reference's top-1 id at divIndex (NaN if
 *     absent)
 * @param driftTop2 same for the reference's top-2 id
 * @param drawMargin the reference's draw margin at divIndex for sampled runs, else NaN
 * @param prefixOnly true when one token list is a prefix of the other (one run stopped early)
 */
public record Comparison(
    int divIndex,
    int lengthDiff,
    int alignedSteps,
    float[] perStepDrift,
    double maxDrift,
    double typicalDrift,
    double maxDriftUlps,
    double refMargin,
    double driftTop1,
    double driftTop2,
    double drawMargin,
    boolean prefixOnly) {

  private static final float[] NONE = new float[0];

  /** This comparison without its per-step drift (an analysis keeps that in its spill). */
  Comparison withoutDrift() {
    return new Comparison(
        divIndex,
        lengthDiff,
        alignedSteps,
        NONE,
        maxDrift,
        typicalDrift,
        maxDriftUlps,
        refMargin,
        driftTop1,
        driftTop2,
        drawMargin,
        prefixOnly);
  }

  public boolean identical() {
    return divIndex < 0;
  }

  /** Compares {@code run} against {@code ref}; both must be ok runs. */
  public static Comparison of(RunRecord ref, RunRecord run) {
    int[] a = ref.tokens();
    int[] b = run.tokens();
    int n = Math.min(a.length, b.length);
    int div = -1;
    for (int i = 0; i < n; i++) {
      if (a[i] != b[i]) {
        div = i;
        break;
      }
    }
    boolean prefixOnly = false;
    if (div < 0 && a.length != b.length) {
      div = n; // one stopped while the other went on: they part at the shorter length
      prefixOnly = true;
    }
    // Aligned: steps whose context is identical in both runs, i.e. up to and including div.
    int aligned = div < 0 ? n : Math.min(div + 1, n);
    Steps sa = ref.steps();
    Steps sb = run.steps();
    float[] drift = new float[aligned];
    double maxUlps = 0;
    for (int i = 0; i < aligned; i++) {
      double[] step = stepDrift(sa, sb, i);
      drift[i] = (float) step[0];
      if (step[1] > maxUlps) {
        maxUlps = step[1];
      }
    }
    double max = 0;
    for (float d : drift) {
      max = Math.max(max, d);
    }
    double typical = median(drift);
    double margin = Double.NaN;
    double d1 = Double.NaN;
    double d2 = Double.NaN;
    double drawMargin = Double.NaN;
    if (div >= 0 && div < n) {
      margin = sa.margin(div);
      d1 = delta(sa, sb, div, 0);
      d2 = delta(sa, sb, div, 1);
      drawMargin = sa.drawMargin(div);
    }
    return new Comparison(
        div,
        b.length - a.length,
        aligned,
        drift,
        max,
        typical,
        maxUlps,
        margin,
        d1,
        d2,
        drawMargin,
        prefixOnly);
  }

  /**
   * Compares by text a run recorded without token logprobs (a provider asked without them), or
   * against such a reference: identical when the texts are; otherwise the divergence is placed at
   * the reference's token holding the first differing character (when the reference has token
   * texts), and its margin there decides as for any divergence. No drift is measured: nothing is
   * aligned.
   */
  public static Comparison ofText(RunRecord ref, RunRecord run) {
    String a = ref.text();
    String b = run.text();
    if (a.equals(b)) {
      return new Comparison(-1, 0, 0, new float[0], 0, 0, 0, NaN, NaN, NaN, NaN, false);
    }
    int n = Math.min(a.length(), b.length());
    int c = 0;
    while (c < n && a.charAt(c) == b.charAt(c)) {
      c++;
    }
    Steps sa = ref.steps();
    int div = -1;
    double margin = NaN;
    if (!ref.textOnly() && sa != null && sa.hasTexts() && joined(sa).equals(a)) {
      int at = 0;
      for (int i = 0; i < sa.size(); i++) {
        String t = sa.text(i) == null ? "" : sa.text(i);
        if (c < at + t.length()) {
          div = i;
          break;
        }
        at += t.length();
      }
      if (div < 0) {
        div = sa.size(); // the run went on past the reference's end
      } else {
        margin = sa.margin(div);
      }
    }
    return new Comparison(
        Math.max(div, 0), 0, 0, new float[0], 0, 0, 0, margin, NaN, NaN, NaN, c == n);
  }

  private static final double NaN = Double.NaN;

  /** The step texts joined: the completion's text when the provider's tokens cover it exactly. */
  private static String joined(Steps s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.size(); i++) {
      b.append(s.text(i) == null ? "" : s.text(i));
    }
    return b.toString();
  }

  /**
   * Step i: the largest |Δlogit| over the reference's top-K ids the run also recorded, and the
   * largest in units in the last place of the reference value.
   *
   * @return {drift, ulps}
   */
  private static double[] stepDrift(Steps sa, Steps sb, int i) {
    float worst = 0;
    double maxUlps = 0;
    for (int j = 0; j < sa.k(); j++) {
      int id = sa.topId(i, j);
      if (id < 0) {
        continue;
      }
      float other = logitOf(sb, i, id);
      if (Float.isNaN(other)) {
        continue;
      }
      float ref0 = sa.topLogit(i, j);
      float d = Math.abs(other - ref0);
      if (d > worst) {
        worst = d;
      }
      double ulps = d / Math.ulp(ref0);
      if (ulps > maxUlps) {
        maxUlps = ulps;
      }
    }
    return new double[] {worst, maxUlps};
  }

  private static double delta(Steps sa, Steps sb, int i, int rank) {
    if (rank >= sa.k()) {
      return Double.NaN;
    }
    int id = sa.topId(i, rank);
    if (id < 0) {
      return Double.NaN;
    }
    float other = logitOf(sb, i, id);
    return Float.isNaN(other) ? Double.NaN : (double) other - sa.topLogit(i, rank);
  }

  /** The logit of {@code id} at step i if it is among the recorded top-K, else NaN. */
  static float logitOf(Steps s, int i, int id) {
    for (int j = 0; j < s.k(); j++) {
      if (s.topId(i, j) == id) {
        return s.topLogit(i, j);
      }
    }
    return Float.NaN;
  }

  static double median(float[] v) {
    if (v.length == 0) {
      return 0;
    }
    float[] c = v.clone();
    Arrays.sort(c);
    int m = c.length / 2;
    return c.length % 2 == 1 ? c[m] : (c[m - 1] + (double) c[m]) / 2;
  }
}
