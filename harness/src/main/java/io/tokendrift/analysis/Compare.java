package io.tokendrift.analysis;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Two experiments side by side: A (the baseline) and B. Within each, runs against their own
 * reference (divergence rates compared with Fisher's exact test, Div_Index distributions with a
 * two-sample Kolmogorov–Smirnov test); across them, every run of B against its twin in A (same run
 * id), judged against A's noise floor only — a divergence the baseline's conditions cannot produce
 * is unexplained, and logits that moved further than A's drift tolerance (by default 10 × A's noise
 * floor, at least 1e-4: the rule {@code check} uses) are drift beyond tolerance, even when the
 * tokens stayed the same. B's own noise never widens the bar B is judged by.
 */
public final class Compare {
  /**
   * One twin pair.
   *
   * @param id the run id both share
   * @param comparison B's run against A's
   * @param verdict identical, explained or unexplained
   * @param threshold the explained margin: twice A's noise floor
   */
  public record Pair(
      String id,
      String promptId,
      String point,
      Comparison comparison,
      Analyzer.Verdict verdict,
      double threshold) {}

  /** Smallest default drift tolerance, in nats (the same rule as {@code check}). */
  public static final double MIN_TOLERANCE = 1e-4;

  /** The default drift tolerance for a baseline noise floor: 10 × the floor, at least 1e-4. */
  public static double defaultTolerance(double floor) {
    return Math.max(10 * floor, MIN_TOLERANCE);
  }

  private final Analysis a;
  private final Analysis b;
  private final List<Pair> pairs;
  private final int onlyA;
  private final int onlyB;
  private final double tolerance;

  private Compare(
      Analysis a, Analysis b, List<Pair> pairs, int onlyA, int onlyB, double tolerance) {
    this.a = a;
    this.b = b;
    this.pairs = pairs;
    this.onlyA = onlyA;
    this.onlyB = onlyB;
    this.tolerance = tolerance;
  }

  /** Compares trace set B with trace set A, with the default drift tolerance (from A alone). */
  public static Compare of(List<Path> as, List<Path> bs, Analyzer.Options o) {
    return of(as, bs, o, Double.NaN);
  }

  /**
   * Compares trace set B with trace set A.
   *
   * @param driftTolerance largest |Δlogit| between twins that is not a change; NaN = {@link
   *     #defaultTolerance} of A's noise floor
   */
  public static Compare of(
      List<Path> as, List<Path> bs, Analyzer.Options o, double driftTolerance) {
    Analysis a = Analyzer.analyze(as, o);
    Analysis b = Analyzer.analyze(bs, o);
    // A's ok runs by id (kept whole: the twins' steps are needed).
    Map<String, RunRecord> twins = new HashMap<>();
    for (Path p : as) {
      try (TraceReader r = TraceReader.open(p)) {
        r.forEachRemaining(
            rec -> {
              if (rec.status() == RunRecord.Status.OK) {
                twins.putIfAbsent(rec.id(), rec);
              }
            });
      }
    }
    // A's floor alone: B's noise must not raise the bar B is judged by.
    double threshold = 2 * a.experimentFloor();
    FlipRule.Decoding decoding = FlipRule.Decoding.of(a.header());
    double tolerance =
        Double.isNaN(driftTolerance) ? defaultTolerance(a.experimentFloor()) : driftTolerance;
    Map<String, Pair> out = new TreeMap<>();
    int onlyB = 0;
    for (Path p : bs) {
      try (TraceReader r = TraceReader.open(p)) {
        while (r.hasNext()) {
          RunRecord rec = r.next();
          if (rec.status() != RunRecord.Status.OK || out.containsKey(rec.id())) {
            continue;
          }
          RunRecord twin = twins.get(rec.id());
          if (twin == null) {
            onlyB++;
            continue;
          }
          Comparison c =
              rec.textOnly() || twin.textOnly()
                  ? Comparison.ofText(twin, rec)
                  : Comparison.of(twin, rec);
          Analyzer.Verdict v =
              c.identical()
                  ? Analyzer.Verdict.IDENTICAL
                  : FlipRule.explained(c, decoding, threshold)
                      ? Analyzer.Verdict.EXPLAINED
                      : Analyzer.Verdict.UNEXPLAINED;
          out.put(
              rec.id(),
              new Pair(rec.id(), rec.promptId(), PointKey.keyOf(rec.point()), c, v, threshold));
        }
      }
    }
    int onlyA = (int) twins.keySet().stream().filter(id -> !out.containsKey(id)).count();
    return new Compare(a, b, new ArrayList<>(out.values()), onlyA, onlyB, tolerance);
  }

  /** The drift tolerance used (from A's noise floor, or the one given). */
  public double tolerance() {
    return tolerance;
  }

  /** Twin pairs whose logits moved further than the tolerance on their shared steps. */
  public List<Pair> drifted() {
    return pairs.stream().filter(p -> p.comparison().maxDrift() > tolerance).toList();
  }

  /** The largest drift between twins (0 when none were compared). */
  public double maxDrift() {
    return pairs.stream().mapToDouble(p -> p.comparison().maxDrift()).max().orElse(0);
  }

  /** True when B changed: any unexplained divergence or any drift beyond tolerance. */
  public boolean changed() {
    return count(Analyzer.Verdict.UNEXPLAINED) > 0 || !drifted().isEmpty();
  }

  public List<Pair> pairs() {
    return pairs;
  }

  public Analysis a() {
    return a;
  }

  public Analysis b() {
    return b;
  }

  public long count(Analyzer.Verdict v) {
    return pairs.stream().filter(p -> p.verdict() == v).count();
  }

  /** Fisher's exact p for "B diverges from its reference as often as A does". */
  public double divergenceRateP() {
    long[] x = divergence(a);
    long[] y = divergence(b);
    return Stats.fisherExact(x[0], x[1] - x[0], y[0], y[1] - y[0]);
  }

  private static long[] divergence(Analysis s) {
    List<Analyzer.RunResult> c = s.compared();
    long d = c.stream().filter(r -> !r.comparison().identical()).count();
    return new long[] {d, c.size()};
  }

  /** Kolmogorov–Smirnov D and p between A's and B's Div_Index distributions. */
  public double[] divIndexKs() {
    return Stats.kolmogorovSmirnov(a.divIndices(), b.divIndices());
  }

  /**
   * Divergence within each experiment: A's divergent and compared runs, then B's.
   *
   * @return {A diverged, A compared, B diverged, B compared}
   */
  public long[] within() {
    long[] x = divergence(a);
    long[] y = divergence(b);
    return new long[] {x[0], x[1], y[0], y[1]};
  }

  /** Runs of B whose tokens differ from their twin in A. */
  public long differing() {
    return pairs.stream().filter(p -> !p.comparison().identical()).count();
  }

  /** compare.json, with {@code summary} as its plain-words summary. */
  public String toJson(String summary) {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = m.createObjectNode();
    root.put("schema", "tokendrift.compare/1");
    root.put("a", a.header().experiment());
    root.put("b", b.header().experiment());
    root.put("summary", summary);
    ObjectNode within = root.putObject("within");
    long[] x = divergence(a);
    long[] y = divergence(b);
    within.put("a_diverged", x[0]);
    within.put("a_compared", x[1]);
    within.put("b_diverged", y[0]);
    within.put("b_compared", y[1]);
    AnalysisJson.num(within, "fisher_p", divergenceRateP());
    double[] ks = divIndexKs();
    AnalysisJson.num(within, "div_index_ks_d", ks[0]);
    AnalysisJson.num(within, "div_index_ks_p", ks[1]);
    ObjectNode across = root.putObject("across");
    across.put("twins", pairs.size());
    across.put("only_in_a", onlyA);
    across.put("only_in_b", onlyB);
    AnalysisJson.num(across, "a_floor", a.experimentFloor());
    across.put("identical", count(Analyzer.Verdict.IDENTICAL));
    across.put("explained", count(Analyzer.Verdict.EXPLAINED));
    across.put("unexplained", count(Analyzer.Verdict.UNEXPLAINED));
    AnalysisJson.num(across, "max_drift", maxDrift());
    ArrayNode arr = across.putArray("divergences");
    for (Pair p : pairs) {
      if (p.comparison().identical()) {
        continue;
      }
      ObjectNode n = arr.addObject();
      n.put("run", p.id());
      n.put("prompt_id", p.promptId());
      n.put("point", p.point());
      n.put("div_index", p.comparison().divIndex());
      n.put("verdict", p.verdict().label());
      AnalysisJson.num(n, "ref_margin", p.comparison().refMargin());
      AnalysisJson.num(n, "threshold", p.threshold());
      AnalysisJson.num(n, "max_drift", p.comparison().maxDrift());
    }
    // Additions (tokendrift.compare/1 stays: earlier fields keep their names and order).
    AnalysisJson.num(across, "drift_tolerance", tolerance);
    List<Pair> drifted = drifted();
    across.put("beyond_tolerance", drifted.size());
    ArrayNode dr = across.putArray("drifted");
    for (Pair p : drifted) {
      ObjectNode n = dr.addObject();
      n.put("run", p.id());
      n.put("prompt_id", p.promptId());
      n.put("point", p.point());
      n.put("verdict", p.verdict().label());
      AnalysisJson.num(n, "max_drift", p.comparison().maxDrift());
    }
    root.put("changed", changed());
    try {
      return m.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
