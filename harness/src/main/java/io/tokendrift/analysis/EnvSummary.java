package io.tokendrift.analysis;

import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * For a spec varying {@code axes.env}: each environment's runs against that environment's own
 * reference, the run of the same prompt and seed at the reference point's other values in the same
 * environment. The main analysis compares everything with one reference (one environment); this
 * answers the question the axis is for: within one setting of the math library, do the other axes
 * (batch size, threads, ...) still change the bits?
 */
public final class EnvSummary {
  /**
   * One environment.
   *
   * @param env its name
   * @param vars the variables its child process saw (from the first of its runs), sorted
   * @param compared ok runs compared with their in-environment reference (the references excluded)
   * @param sameTokens of those, runs whose tokens equal the reference's
   * @param bitIdentical of those, runs whose recorded logits are also bit-identical at every step
   * @param maxDrift the largest |Δlogit| over aligned steps
   */
  public record Row(
      String env,
      SortedMap<String, String> vars,
      long compared,
      long sameTokens,
      long bitIdentical,
      double maxDrift) {}

  private final Map<String, String> others; // the reference point without env
  private final Map<String, RunRecord> refs = new HashMap<>();
  private final Map<String, Acc> byEnv = new LinkedHashMap<>();

  private static final class Acc {
    SortedMap<String, String> vars = new TreeMap<>();
    long compared;
    long same;
    long bit;
    double maxDrift;
  }

  /** Null unless the reference point names an env (the spec varies the axis). */
  static EnvSummary of(PointKey reference) {
    if (!reference.values().containsKey("env")) {
      return null;
    }
    Map<String, String> o = new TreeMap<>(reference.values());
    o.remove("env");
    return new EnvSummary(o);
  }

  private EnvSummary(Map<String, String> others) {
    this.others = others;
  }

  /** The reference point's values but env: the runs whose steps pass 1 must keep. */
  Map<String, String> referenceWithoutEnv() {
    return others;
  }

  private boolean atReference(RunRecord r) {
    for (Map.Entry<String, String> e : others.entrySet()) {
      if (!e.getValue().equals(r.point().get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static String key(RunRecord r) {
    return r.point().get("env") + "\u0000" + r.promptId() + "\u0000" + r.seed();
  }

  /** Pass 1: keeps each environment's reference runs (ok, repeat 0). */
  void offerReference(RunRecord r) {
    if (r.status() == RunRecord.Status.OK && r.repeat() == 0 && atReference(r)) {
      refs.putIfAbsent(key(r), r);
    }
  }

  /** Pass 2: compares an ok run with its environment's reference. */
  void add(RunRecord r) {
    String env = r.point().get("env");
    if (env == null) {
      return;
    }
    Acc a = byEnv.computeIfAbsent(env, k -> new Acc());
    if (a.vars.isEmpty() && r.process() != null) {
      a.vars = new TreeMap<>(r.process().vars());
    }
    RunRecord ref = refs.get(key(r));
    if (r.status() != RunRecord.Status.OK || ref == null || ref.id().equals(r.id())) {
      return;
    }
    Comparison c =
        r.textOnly() || ref.textOnly() ? Comparison.ofText(ref, r) : Comparison.of(ref, r);
    a.compared++;
    if (c.identical()) {
      a.same++;
      if (c.maxDrift() == 0) {
        a.bit++;
      }
    }
    if (!Double.isNaN(c.maxDrift())) {
      a.maxDrift = Math.max(a.maxDrift, c.maxDrift());
    }
  }

  /** One row per environment, in the order their runs first appear (the spec's order). */
  public List<Row> rows() {
    return byEnv.entrySet().stream()
        .map(
            e ->
                new Row(
                    e.getKey(),
                    e.getValue().vars,
                    e.getValue().compared,
                    e.getValue().same,
                    e.getValue().bit,
                    e.getValue().maxDrift))
        .toList();
  }

  /** The reference's other values, as the report states them. */
  public String otherValues() {
    return PointKey.keyOf(others);
  }
}
