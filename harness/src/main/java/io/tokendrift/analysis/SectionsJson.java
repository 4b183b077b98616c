package io.tokendrift.analysis;

import static io.tokendrift.analysis.AnalysisJson.num;
import static io.tokendrift.analysis.AnalysisJson.prop;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The sections of {@code analysis.json} an experiment has only when it asks for them: an HTTP
 * provider's, the truth's (a float64 point), the answers' (expected answers), the groups' (mode
 * axes) and the environments' ({@code axes.env}).
 */
final class SectionsJson {
  private SectionsJson() {}

  static void truth(ObjectNode n, Truth t, Analysis a) {
    n.put(
        "reference",
        "each run against the precision=fp64 run of the same prompt and seed at "
            + t.otherValues());
    ArrayNode pts = n.putArray("points");
    for (Truth.PointError p : t.points()) {
      ObjectNode o = pts.addObject();
      o.put("point", p.point());
      o.put("runs", p.runs());
      num(o, "max_error", p.maxError());
      num(o, "median_error", p.medianError());
      num(o, "max_ulps", p.maxUlps());
      o.put("on_true_path", p.onPath());
    }
    ObjectNode refs = n.putObject("reference_runs");
    refs.put("compared", t.referencesCompared());
    ArrayNode off = refs.putArray("left_true_path");
    for (Truth.ReferenceCheck r : t.referencesOffPath()) {
      ObjectNode o = off.addObject();
      o.put("prompt_id", r.promptId());
      o.put("seed", r.seed());
      o.put("step", r.step());
      o.put("truth_token", r.truthToken());
      o.put("truth_text", r.truthToken() < 0 ? "" : a.text(r.truthToken()));
      o.put("reference_token", r.refToken());
      o.put("reference_text", r.refToken() < 0 ? "" : a.text(r.refToken()));
      num(o, "margin64", r.margin64());
    }
    ObjectNode sides = n.putObject("divergences");
    t.sides().forEach((s, c) -> sides.put(s.label(), c));
  }

  static void answers(ObjectNode n, Answers x) {
    n.put("prompts", x.prompts());
    ArrayNode pts = n.putArray("points");
    for (Answers.PointAnswers p : x.points()) {
      ObjectNode o = pts.addObject();
      o.put("point", p.point());
      prop(o.putObject("correct"), p.correct());
      num(o, "mean_length", p.meanLength());
    }
    num(n, "spread", x.spread());
    num(n, "sd", x.sd());
    n.put("best", x.best());
    n.put("worst", x.worst());
    prop(n.putObject("tara"), x.tara());
    prop(n.putObject("tarr"), x.tarr());
    n.put("repeats", x.repeats());
    num(n, "length_spread", x.lengthSpread());
  }

  static void groups(ArrayNode n, List<GroupSummary> groups) {
    for (GroupSummary g : groups) {
      ObjectNode o = n.addObject();
      o.put("axis", g.axis());
      o.put(
          "reference",
          "each run against the run of the same prompt and seed in its own group at "
              + g.otherValues());
      ArrayNode values = o.putArray("values");
      for (GroupSummary.Value v : g.values()) {
        ObjectNode x = values.addObject();
        x.put("value", v.value());
        x.put("verdict", v.verdict().label());
        x.put("runs", v.runs());
        x.put("points", v.points());
        x.put("compared", v.compared());
        x.put("same_tokens", v.sameTokens());
        x.put("bit_identical", v.bitIdentical());
        num(x, "max_drift", v.maxDrift());
        x.put("prompts", v.prompts());
        x.put("distinct_sequences_min", v.distinctMin());
        x.put("distinct_sequences_max", v.distinctMax());
        x.put("prompts_with_one_sequence", v.stablePrompts());
      }
    }
  }

  static void environments(ObjectNode n, EnvSummary e) {
    n.put(
        "reference",
        "each run against the run of the same prompt and seed in its own environment at "
            + e.otherValues());
    ArrayNode rows = n.putArray("rows");
    for (EnvSummary.Row r : e.rows()) {
      ObjectNode o = rows.addObject();
      o.put("env", r.env());
      ObjectNode v = o.putObject("vars");
      r.vars().forEach(v::put);
      o.put("compared", r.compared());
      o.put("same_tokens", r.sameTokens());
      o.put("bit_identical", r.bitIdentical());
      num(o, "max_drift", r.maxDrift());
    }
  }

  static void provider(ObjectNode n, ProviderSummary p) {
    n.put(
        "logits",
        "not available: margins and drift are in logprob units, from the provider's top "
            + p.maxTop
            + " logprobs per token (stored as float32)");
    n.put("top_logprobs", p.maxTop);
    ObjectNode f = n.putObject("fingerprints");
    p.fingerprints.forEach(f::put);
    ObjectNode m = n.putObject("models");
    p.models.forEach(m::put);
    ObjectNode w = n.putObject("within_fingerprint");
    w.put("compared", p.withinCompared);
    w.put("diverged", p.withinDiverged);
    ObjectNode x = n.putObject("across_fingerprints");
    x.put("compared", p.acrossCompared);
    x.put("diverged", p.acrossDiverged);
    ObjectNode u = n.putObject("without_fingerprint");
    u.put("compared", p.unknownCompared);
    u.put("diverged", p.unknownDiverged);
    n.put("runs_retried", p.retried);
    ObjectNode rk = n.putObject("retries");
    p.retries.forEach(rk::put);
    n.put("runs_below_concurrency", p.belowConcurrency);
    n.put("steps_with_equal_alternatives", p.equalTexts);
    if (!p.truthErrors.isEmpty()) {
      ObjectNode t = n.putObject("truth");
      t.put("steps", p.truthSteps);
      ArrayNode pts = t.putArray("points");
      double all = 0;
      for (var e : p.truthErrors.entrySet()) {
        double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
        ObjectNode o = pts.addObject();
        o.put("point", e.getKey());
        o.put("runs", v.length);
        num(o, "max_error", v[v.length - 1]);
        num(o, "median_error", Stats.quantile(v, 0.5));
        all = Math.max(all, v[v.length - 1]);
      }
      num(t, "max_error", all);
    }
    ObjectNode cache = n.putObject("prompt_cache");
    cache.put("runs", p.cachedRuns);
    cache.put("max_cached_tokens", p.maxCached);
    n.put("runs_text_only", p.textOnly);
  }
}
