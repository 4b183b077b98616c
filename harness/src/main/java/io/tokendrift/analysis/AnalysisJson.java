package io.tokendrift.analysis;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.analysis.Analyzer.RunResult;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.TreeMap;

/**
 * Writes {@code analysis.json} (docs/analysis-format.md): versioned, with no timings, in a fixed
 * field order, numbers rounded to 9 significant digits, so the same traces give the same bytes. The
 * one-paragraph summary is written by the caller's words (the report package's sentences).
 */
public final class AnalysisJson {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** The same, without a flush after each value: the divergences go out one at a time. */
  private static final ObjectMapper STREAM =
      JSON.copy().disable(SerializationFeature.FLUSH_AFTER_WRITE_VALUE);

  private AnalysisJson() {}

  /** analysis.json of {@code a}, with {@code summary} as its plain-words summary. */
  public static String write(Analysis a, String summary) {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    try {
      write(a, summary, b);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e); // a byte array does not fail
    }
    return b.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * analysis.json written to {@code out} as it is made: the sections as a tree, then the
   * divergences one at a time (a large analysis is never a string, nor its divergences a tree, in
   * memory); {@code out} is left open.
   */
  public static void write(Analysis a, String summary, java.io.OutputStream out)
      throws java.io.IOException {
    ObjectNode head = tree(a, summary);
    java.io.OutputStream shield =
        new java.io.FilterOutputStream(out) {
          @Override
          public void write(byte[] b, int off, int len) throws java.io.IOException {
            out.write(b, off, len);
          }

          @Override
          public void close() throws java.io.IOException {
            flush(); // the caller closes out
          }
        };
    // The writer's generator: the mapper's pretty printer, as writing the whole tree would use.
    // A character generator, as the string form always was: characters beyond U+FFFF are written
    // as they are (a byte generator would escape them as surrogate pairs), then encoded as UTF-8.
    java.io.Writer w =
        new java.io.BufferedWriter(
            new java.io.OutputStreamWriter(shield, java.nio.charset.StandardCharsets.UTF_8),
            1 << 16);
    try (com.fasterxml.jackson.core.JsonGenerator g = STREAM.writer().createGenerator(w)) {
      g.disable(com.fasterxml.jackson.core.JsonGenerator.Feature.AUTO_CLOSE_TARGET);
      g.writeStartObject();
      for (var it = head.fields(); it.hasNext(); ) {
        var e = it.next();
        g.writeFieldName(e.getKey());
        STREAM.writeTree(g, e.getValue());
      }
      g.writeArrayFieldStart("divergences");
      FlipRule.Decoding decoding = FlipRule.Decoding.of(a.header());
      for (Divergence d : a.divergences()) {
        STREAM.writeTree(g, divergence(a, d, decoding));
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    w.write('\n');
    w.flush();
    out.flush();
  }

  /** One divergence's object, its float64 side included when the analysis has one. */
  private static ObjectNode divergence(Analysis a, Divergence d, FlipRule.Decoding decoding) {
    ObjectNode o = JSON.createObjectNode();
    divergence(o, d, decoding, a.plantedAt(d.run()), a.runText(d.run()));
    Truth.AtDivergence at = a.truth() == null ? null : a.truth().at(d.run().id());
    if (at != null) {
      ObjectNode t = o.putObject("truth");
      t.put("side", at.side().label());
      if (at.truthToken() >= 0) {
        t.put("token", at.truthToken());
        t.put("text", a.text(at.truthToken()));
      }
      num(t, "margin64", at.margin64());
      if (at.truthLeftAt() >= 0) {
        t.put("left_reference_path_at", at.truthLeftAt());
      }
    }
    return o;
  }

  /** Every section but the divergences (written last, one at a time). */
  private static ObjectNode tree(Analysis a, String summary) {
    ObjectNode root = JSON.createObjectNode();
    root.put("schema", Analysis.SCHEMA);
    root.put("experiment", a.header.experiment());
    root.put("spec_sha256", a.header.specSha256());
    root.put("grid_size", a.header.gridSize());
    root.put("reference", a.reference.key());
    ObjectNode settings = root.putObject("settings");
    settings.put("floor_quantile", a.options.floorQuantile());
    num(settings, "near_tie_nats", a.options.nearTie());
    settings.put("bootstrap_resamples", a.options.resamples());
    settings.put("temperature", a.temperature);
    ObjectNode dec = root.putObject("decoding");
    new TreeMap<>(a.header.decoding()).forEach(dec::put);
    ObjectNode man = root.putObject("manifest");
    new TreeMap<>(a.header.manifest()).forEach(man::put);
    headline(root.putObject("headline"), a.headline(), a);
    root.put("summary", summary);
    ArrayNode points = root.putArray("points");
    a.points().forEach(p -> point(points.addObject(), p));
    ArrayNode axes = root.putArray("axes");
    a.axisStats().forEach(x -> axis(axes.addObject(), x));
    ArrayNode prompts = root.putArray("prompts");
    a.prompts().forEach(p -> prompt(prompts.addObject(), p));
    tests(root.putObject("tests"), a.tests());
    nearTies(root.putObject("near_ties"), a.nearTies());
    agreement(root.putObject("agreement"), a.agreement());
    if (a.provider() != null) {
      SectionsJson.provider(root.putObject("provider"), a.provider());
    }
    if (a.truth() != null) {
      SectionsJson.truth(root.putObject("truth"), a.truth(), a);
    }
    Answers answers = a.answers();
    if (answers != null) {
      SectionsJson.answers(root.putObject("answers"), answers);
    }
    if (!a.groups().isEmpty()) {
      SectionsJson.groups(root.putArray("groups"), a.groups());
    }
    if (a.environments() != null) {
      SectionsJson.environments(root.putObject("environments"), a.environments());
    }
    return root;
  }

  private static void headline(ObjectNode h, Headline x, Analysis a) {
    h.put("runs", x.runs());
    h.put("compared", x.compared());
    h.put("references", x.references());
    prop(h.putObject("identical"), x.identical());
    h.put("diverged", x.diverged());
    h.put("explained", x.explained());
    h.put("unexplained", x.unexplained());
    h.put("failed", x.failed());
    h.put("skipped", x.skipped());
    h.put("no_reference", x.noReference());
    h.put("missing_runs", a.missingRuns());
    ArrayNode torn = h.putArray("torn_records");
    a.tornRecords().forEach(torn::add);
    num(h, "median_div_index", x.medianDivIndex());
    h.put("unique_completions_max", x.uniqueCompletionsMax());
    prop(h.putObject("tarr"), x.tarr());
    h.put("tarr_n", x.tarrN());
    num(h, "experiment_floor", x.experimentFloor());
  }

  private static void point(ObjectNode n, PointStats p) {
    n.put("key", p.point().key());
    ObjectNode pt = n.putObject("point");
    p.point().values().forEach(pt::put);
    n.put("reference", p.reference());
    n.put("runs", p.runs());
    n.put("compared", p.compared());
    prop(n.putObject("identical"), p.identical());
    n.put("explained", p.explained());
    n.put("unexplained", p.unexplained());
    estimate(n.putObject("noise_floor"), p.floor());
    num(n, "max_drift", p.maxDrift());
    num(n, "max_drift_ulps", p.maxDriftUlps());
    ObjectNode div = n.putObject("div_index");
    div.put("n", p.divIndex().n());
    num(div, "median", p.divIndex().median());
    num(div, "q1", p.divIndex().q1());
    num(div, "q3", p.divIndex().q3());
    ArrayNode h = div.putArray("histogram");
    for (int c : p.divIndex().histogram()) {
      h.add(c);
    }
    rounded(n.putArray("survival"), p.survival());
    num(n, "at_risk_threshold", p.atRisk().threshold());
    n.put("at_risk_steps", p.atRisk().steps());
    n.put("predicted_divergences", p.atRisk().predicted());
    n.put("observed_divergences", p.atRisk().observed());
    prop(n.putObject("tarr"), p.tarr());
  }

  private static void axis(ObjectNode n, AxisStats x) {
    n.put("axis", x.axis());
    n.put("reference_value", x.referenceValue());
    ArrayNode vals = n.putArray("values");
    for (AxisStats.Value v : x.values()) {
      ObjectNode o = vals.addObject();
      o.put("value", v.value());
      o.put("runs", v.runs());
      prop(o.putObject("diverged"), v.diverged());
      o.put("explained", v.explained());
      o.put("unexplained", v.unexplained());
      rounded(o.putArray("survival"), v.survival());
    }
    ObjectNode test = n.putObject("test");
    test.put("name", x.test().name());
    num(test, "p", x.test().p());
    AxisStats.Single s = x.single();
    ObjectNode att = n.putObject("single_axis");
    att.put("runs", s.runs());
    prop(att.putObject("diverged"), s.diverged());
    att.put("explained", s.explained());
    att.put("unexplained", s.unexplained());
    num(att, "share_of_all_divergences", s.shareOfAllDivergences());
    num(att, "median_max_drift", s.medianMaxDrift());
    estimate(att.putObject("noise_floor"), s.floor());
  }

  private static void prompt(ObjectNode n, PromptStats p) {
    n.put("id", p.id());
    n.put("prompt", p.prompt());
    n.put("runs", p.runs());
    n.put("unique_completions", p.uniqueCompletions());
    ObjectNode len = n.putObject("length");
    num(len, "min", p.lengthMin());
    num(len, "max", p.lengthMax());
    num(len, "sd", p.lengthSd());
    prop(n.putObject("tarr"), p.tarr());
  }

  private static void tests(ObjectNode t, MarginTests x) {
    MarginTests.MannWhitney m = x.mannWhitney();
    ObjectNode mw = t.putObject("margins_at_divergence_vs_other_steps");
    mw.put(
        "test",
        "mann-whitney-u, one-sided: divergence margins smaller; one observation per distinct"
            + " reference step; exact up to "
            + RankTests.MW_EXACT_MAX
            + " values");
    mw.put("n_divergence", m.nDivergence());
    mw.put("n_other", m.nOther());
    num(mw, "median_divergence", m.medianDivergence());
    num(mw, "median_other", m.medianOther());
    num(mw, "p", m.p());
    MarginTests.Histogram h = x.histogram();
    ObjectNode mh = t.putObject("margin_histogram");
    mh.put("unit", "nats, log10 bins of half a decade; first bin also holds 0");
    rounded(mh.putArray("edges"), h.edges());
    ArrayNode ha = mh.putArray("all_steps");
    ArrayNode hd = mh.putArray("divergence_steps");
    for (int b = 0; b < h.allSteps().length; b++) {
      ha.add(h.allSteps()[b]);
      hd.add(h.divergenceSteps()[b]);
    }
    ArrayNode fr = t.putArray("flip_rate_by_margin");
    for (MarginTests.FlipBin b : x.flipRate()) {
      ObjectNode n = fr.addObject();
      num(n, "margin_from", b.from());
      num(n, "margin_to", b.to());
      prop(n.putObject("flips"), b.flips());
    }
  }

  private static void nearTies(ObjectNode n, NearTies x) {
    num(n, "threshold_nats", x.threshold());
    n.put("reference_steps", x.referenceSteps());
    n.put("near_tie_steps", x.nearTieSteps());
    ArrayNode planted = n.putArray("planted");
    for (NearTies.Planted t : x.planted()) {
      ObjectNode p = planted.addObject();
      p.put("id", t.id());
      p.put("prefix", t.prefix());
      p.put("kind", t.kind());
      p.put("step", t.step());
      num(p, "margin", t.margin());
      num(p, "top2_over_top1", t.top2OverTop1());
      p.put("near_tie", t.nearTie());
      p.put("at_risk", t.atRisk());
      p.put("flips_at_this_step", t.flipsAtThisStep());
    }
    ObjectNode micro = n.putObject("micro_ties");
    micro.put("reached", x.microReached());
    micro.put("flagged_at_risk", x.microFlagged());
  }

  private static void agreement(ObjectNode n, Agreement x) {
    ArrayNode pr = n.putArray("prompts");
    x.prompts().forEach(pr::add);
    ArrayNode pt = n.putArray("points");
    x.points().forEach(pt::add);
    ArrayNode rates = n.putArray("identical_rate");
    for (List<Double> cells : x.identicalRate()) {
      ArrayNode row = rates.addArray();
      for (Double rate : cells) {
        if (rate == null) {
          row.addNull();
        } else {
          row.add(round(rate));
        }
      }
    }
  }

  private static void divergence(
      ObjectNode n, Divergence d, FlipRule.Decoding decoding, String planted, String runText) {
    RunResult r = d.run();
    Comparison c = r.comparison();
    n.put("run", r.id());
    n.put("prompt_id", r.promptId());
    n.put("point", r.point().key());
    n.put("axes", d.axes());
    n.put("seed", r.seed());
    n.put("repeat", r.repeat());
    n.put("div_index", c.divIndex());
    n.put("verdict", r.verdict().label());
    num(n, "ref_margin", c.refMargin());
    num(n, "ref_margin_scaled", d.refMarginScaled());
    num(n, "threshold", r.threshold());
    num(n, "drift_top1", c.driftTop1());
    num(n, "drift_top2", c.driftTop2());
    num(n, "draw_margin", c.drawMargin());
    num(n, "needed_drift", FlipRule.neededDrift(c, decoding));
    num(n, "max_drift", c.maxDrift());
    n.put("length_diff", c.lengthDiff());
    n.put("prefix_only", c.prefixOnly());
    if (c.divIndex() < d.ref().tokens().length) {
      n.put("ref_token", d.ref().tokens()[c.divIndex()]);
    }
    n.put("ref_text", d.ref().text());
    n.put("run_text", runText);
    n.put("rank", d.rank());
    n.put("planted", planted);
    if (d.context() != null) {
      context(n.putObject("context"), d.context());
    }
  }

  private static void context(ObjectNode n, Divergence.Context x) {
    ArrayNode toks = n.putArray("ref_tokens");
    for (Divergence.RefToken rt : x.refTokens()) {
      ObjectNode t = toks.addObject();
      t.put("id", rt.id());
      t.put("text", rt.text());
      num(t, "margin", rt.margin());
      ArrayNode alts = t.putArray("top");
      for (Divergence.Alternative alt : rt.top()) {
        ObjectNode o = alts.addObject();
        o.put("id", alt.id());
        o.put("text", alt.text());
        num(o, "logit", alt.logit());
      }
    }
    ArrayNode run = n.putArray("run_tokens");
    for (Divergence.Token tok : x.runTokens()) {
      ObjectNode t = run.addObject();
      t.put("id", tok.id());
      t.put("text", tok.text());
    }
  }

  // --- number formatting -----------------------------------------------------------------------

  static void prop(ObjectNode n, Stats.Proportion p) {
    n.put("k", p.successes());
    n.put("n", p.trials());
    num(n, "rate", p.rate());
    num(n, "low", p.low());
    num(n, "high", p.high());
  }

  private static void estimate(ObjectNode n, Stats.Estimate e) {
    if (e == null) {
      n.put("n", 0);
      n.putNull("value");
      return;
    }
    n.put("n", e.n());
    num(n, "value", e.value());
    num(n, "low", e.low());
    num(n, "high", e.high());
  }

  private static void rounded(ArrayNode arr, double[] v) {
    for (double x : v) {
      arr.add(round(x));
    }
  }

  /** Writes a number rounded to 9 significant digits, or null when not finite. */
  static void num(ObjectNode n, String field, double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      n.putNull(field);
    } else {
      n.put(field, round(v));
    }
  }

  static double round(double v) {
    if (v == 0 || Double.isNaN(v) || Double.isInfinite(v)) {
      return v;
    }
    return new BigDecimal(v).round(new MathContext(9)).doubleValue();
  }
}
