package io.tokendrift.analysis;

import io.tokendrift.trace.RunRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * For a spec varying {@code axes.env}: each environment's runs against that environment's own
 * reference, the run of the same prompt and seed at the reference point's other values in the same
 * environment ({@link GroupSummary} of the {@code env} axis), with the variables each environment's
 * child process saw. Within one setting of the math library, do the other axes (batch size,
 * threads, ...) still change the bits?
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

  private final GroupSummary group;
  private final Map<String, SortedMap<String, String>> vars = new LinkedHashMap<>();

  /** Null unless the spec varies env (the group summaries hold one for it). */
  static EnvSummary of(GroupSummary env) {
    return env == null ? null : new EnvSummary(env);
  }

  private EnvSummary(GroupSummary group) {
    this.group = group;
  }

  /**
   * What one run brings: its environment and the variables its process saw (null when the record
   * names no process).
   */
  record Seen(String env, SortedMap<String, String> vars) {}

  /** Pass 2: a run's environment and variables; null for a run without an env value. */
  static Seen seen(RunRecord r) {
    String env = r.point().get("env");
    if (env == null) {
      return null;
    }
    return new Seen(env, r.process() == null ? null : new TreeMap<>(r.process().vars()));
  }

  /** The variables of each environment, from the first of its runs that has them. */
  void add(Seen s) {
    if (s == null) {
      return;
    }
    SortedMap<String, String> v = vars.computeIfAbsent(s.env(), k -> new TreeMap<>());
    if (v.isEmpty() && s.vars() != null) {
      v.putAll(s.vars());
    }
  }

  /** One row per environment, in the order their runs first appear (the spec's order). */
  public List<Row> rows() {
    Map<String, GroupSummary.Value> byName = new LinkedHashMap<>();
    group.values().forEach(v -> byName.put(v.value(), v));
    return vars.entrySet().stream()
        .map(
            e -> {
              GroupSummary.Value v = byName.get(e.getKey());
              return v == null
                  ? new Row(e.getKey(), e.getValue(), 0, 0, 0, 0)
                  : new Row(
                      e.getKey(),
                      e.getValue(),
                      v.compared(),
                      v.sameTokens(),
                      v.bitIdentical(),
                      Double.isNaN(v.maxDrift()) ? 0 : v.maxDrift());
            })
        .toList();
  }

  /** The reference's other values, as the report states them. */
  public String otherValues() {
    return group.otherValues();
  }
}
