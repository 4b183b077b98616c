package io.tokendrift.analysis;

import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Drift from the truth, for an experiment with a float64 point ({@code precision: fp64}): every
 * other run against the float64 run of the same prompt and seed at the reference point's other
 * values — its error in logits (the float64 values exact, as the fp64 run records them), the token
 * float64 takes where runs part, and whether the float32 reference itself stayed on the true path.
 */
public final class Truth {
  static final String AXIS = "precision";
  static final String VALUE = "fp64";

  /** Error of one condition against float64. */
  public record PointError(
      String point, long runs, double maxError, double medianError, double maxUlps, long onPath) {}

  /** Where a reference run of the main comparison left the true path, or -1 when it did not. */
  public record ReferenceCheck(
      String promptId, long seed, int step, int truthToken, int refToken, double margin64) {}

  /** Which side of a divergence float64 takes. */
  public enum Side {
    RUN,
    REFERENCE,
    NEITHER,
    OFF_PATH;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /** What float64 says at one divergence. */
  public record AtDivergence(Side side, int truthToken, double margin64, int truthLeftAt) {}

  private final Map<String, String> others;
  private final Map<String, RunRecord> truth = new HashMap<>();
  private final Map<String, List<Double>> errors = new LinkedHashMap<>();
  private final Map<String, double[]> worst = new HashMap<>(); // {max ulps, on path}
  private final Map<String, Long> runs = new HashMap<>();
  private final Map<String, AtDivergence> atDivergence = new HashMap<>();
  private final List<ReferenceCheck> references = new ArrayList<>();
  private long referencesCompared;

  private Truth(Map<String, String> others) {
    this.others = others;
  }

  /** Null unless the experiment varies precision and fp64 is one of its values' names. */
  static Truth of(PointKey reference) {
    if (!reference.values().containsKey(AXIS)) {
      return null;
    }
    Map<String, String> o = new TreeMap<>(reference.values());
    o.remove(AXIS);
    o.remove("device"); // float64 runs on the CPU: it is the truth for a GPU reference as well
    return new Truth(o);
  }

  private static String key(RunRecord r) {
    return r.promptId() + "\u0000" + r.seed();
  }

  private boolean atReference(RunRecord r) {
    for (Map.Entry<String, String> e : others.entrySet()) {
      if (!e.getValue().equals(r.point().get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /** Pass 1: keeps the float64 runs at the reference's other values (ok, repeat 0). */
  void offerReference(RunRecord r) {
    if (r.status() == RunRecord.Status.OK
        && r.repeat() == 0
        && VALUE.equals(r.point().get(AXIS))
        && atReference(r)) {
      truth.putIfAbsent(key(r), r);
    }
  }

  /** Whether any float64 run was seen. */
  boolean present() {
    return !truth.isEmpty();
  }

  /**
   * What one run brings: its point, its largest error against float64 over the aligned steps and in
   * ulps ({@code errors} false when none was measured), whether it took float64's path, and for a
   * reference run or a divergence, what float64 says there.
   */
  record Seen(
      String id,
      String point,
      boolean errors,
      double maxError,
      double maxUlps,
      boolean onPath,
      boolean isReference,
      ReferenceCheck check,
      AtDivergence side) {}

  /**
   * Pass 2: a run's error against float64, and, when it diverged from its reference at {@code div}
   * (-1: it did not), what float64 takes there; null for a run not compared with float64.
   */
  Seen seen(RunRecord r, RunRecord ref, int div, boolean isReference) {
    RunRecord t = truth.get(key(r));
    if (t == null || r.status() != RunRecord.Status.OK) {
      return null;
    }
    if (VALUE.equals(r.point().get(AXIS))) {
      return null; // float64 against itself: no error, and its side at a divergence is its own
    }
    String point = PointKey.keyOf(r.point());
    Steps ts = t.steps();
    Steps rs = r.steps();
    int aligned = 0;
    double max = 0;
    double ulps = 0;
    boolean exact = ts != null && ts.hasExact() && rs != null;
    int n = Math.min(t.tokens().length, r.tokens().length);
    for (int i = 0; i < n && exact; i++) {
      for (int j = 0; j < ts.k(); j++) {
        int id = ts.topId(i, j);
        double v = ts.topLogit64(i, j);
        for (int jj = 0; jj < rs.k(); jj++) {
          if (rs.topId(i, jj) == id && !Double.isNaN(v)) {
            double d = Math.abs(rs.topLogit(i, jj) - v);
            max = Math.max(max, d);
            ulps = Math.max(ulps, d / Math.ulp((float) v));
          }
        }
      }
      aligned++;
      if (t.tokens()[i] != r.tokens()[i]) {
        break; // the step where they part is compared, the ones after are other contexts
      }
    }
    ReferenceCheck check = null;
    if (isReference) {
      int part = Arrays.mismatch(t.tokens(), r.tokens());
      if (part >= 0) {
        check =
            new ReferenceCheck(
                r.promptId(),
                r.seed(),
                part,
                part < t.tokens().length ? t.tokens()[part] : -1,
                part < r.tokens().length ? r.tokens()[part] : -1,
                part < t.tokens().length && exact ? ts.margin64(part) : Double.NaN);
      }
    }
    return new Seen(
        r.id(),
        point,
        exact && aligned > 0,
        max,
        ulps,
        Arrays.equals(t.tokens(), r.tokens()),
        isReference,
        check,
        side(r, ref, div, t));
  }

  /** Pass 2 (or a combine): counts what a run brought, in the order the runs come. */
  void add(Seen s) {
    if (s == null) {
      return;
    }
    runs.merge(s.point(), 1L, Long::sum);
    if (s.errors()) {
      errors.computeIfAbsent(s.point(), k -> new ArrayList<>()).add(s.maxError());
      double[] w = worst.computeIfAbsent(s.point(), k -> new double[2]);
      w[0] = Math.max(w[0], s.maxUlps());
    }
    if (s.onPath()) {
      worst.computeIfAbsent(s.point(), k -> new double[2])[1]++;
    }
    if (s.isReference()) {
      referencesCompared++;
      if (s.check() != null) {
        references.add(s.check());
      }
    }
    if (s.side() != null) {
      atDivergence.put(s.id(), s.side());
    }
  }

  /**
   * What float64 ({@code t}) takes where {@code r} parts from its reference at {@code div}, or null
   * when it did not part.
   */
  private static AtDivergence side(RunRecord r, RunRecord ref, int div, RunRecord t) {
    if (div < 0 || ref == null) {
      return null;
    }
    int left = Arrays.mismatch(t.tokens(), ref.tokens());
    if (left >= 0 && left < div) {
      return new AtDivergence(Side.OFF_PATH, -1, Double.NaN, left);
    }
    Steps ts = t.steps();
    boolean exact = ts != null && ts.hasExact();
    int tt = div < t.tokens().length ? t.tokens()[div] : -1;
    int runTok = div < r.tokens().length ? r.tokens()[div] : -1;
    int refTok = div < ref.tokens().length ? ref.tokens()[div] : -1;
    Side side = tt == runTok ? Side.RUN : tt == refTok ? Side.REFERENCE : Side.NEITHER;
    return new AtDivergence(
        side, tt, div < t.tokens().length && exact ? ts.margin64(div) : Double.NaN, -1);
  }

  /** What float64 takes at run {@code id}'s divergence, or null. */
  public AtDivergence at(String id) {
    return atDivergence.get(id);
  }

  /** Each condition's error against float64, in the order the runs came. */
  public List<PointError> points() {
    List<PointError> out = new ArrayList<>();
    errors.forEach(
        (p, e) -> {
          double[] v = e.stream().mapToDouble(Double::doubleValue).sorted().toArray();
          double[] w = worst.getOrDefault(p, new double[2]);
          out.add(
              new PointError(
                  p,
                  runs.getOrDefault(p, 0L),
                  v[v.length - 1],
                  Stats.quantile(v, 0.5),
                  w[0],
                  (long) w[1]));
        });
    return out;
  }

  /** The reference runs that left the true path: where, and what float64 takes there. */
  public List<ReferenceCheck> referencesOffPath() {
    return references;
  }

  /** Reference runs compared with float64. */
  public long referencesCompared() {
    return referencesCompared;
  }

  /** The divergences by the side float64 takes. */
  public Map<Side, Long> sides() {
    Map<Side, Long> m = new java.util.EnumMap<>(Side.class);
    for (Side s : Side.values()) {
      m.put(s, 0L);
    }
    atDivergence.values().forEach(a -> m.merge(a.side(), 1L, Long::sum));
    return m;
  }

  /** The reference point's other values, as the report states them. */
  public String otherValues() {
    return PointKey.keyOf(others);
  }
}
