package io.tokendrift.analysis;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.experiment.Point;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import io.tokendrift.trace.TraceHeader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The analysis of one experiment: per-run verdicts, per-point and per-axis aggregates, noise
 * floors, attribution to axes, near-ties and the tests behind them. {@link #toJson()} writes {@code
 * analysis.json}: versioned, with no timings, in a fixed order, so the same traces give the same
 * bytes.
 */
public final class Analysis {
  public static final String SCHEMA = "tokendrift.analysis/1";

  /** Bins of the reference margin (nats) for the flip-rate table. */
  static final double[] MARGIN_BINS = {
    0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, Double.POSITIVE_INFINITY
  };

  /** Seed of the bootstrap resampling (fixed: the analysis is reproducible). */
  static final long BOOTSTRAP_SEED = 0x7D_2026L;

  final TraceHeader header;
  final Point reference;
  final Analyzer.Options options;
  final List<RunResult> runs;
  final Map<String, RunRecord> refs;
  final double temperature;
  final Map<Point, Stats.Estimate> pointFloors = new LinkedHashMap<>();
  final Map<String, Stats.Estimate> axisFloors = new LinkedHashMap<>();
  double experimentFloor;
  private java.util.function.IntFunction<String> tokenText;

  /** How many divergent runs get their tokens in context (worst first). */
  static final int CONTEXTS = 25;

  /** Decodes token ids for the divergence contexts (the trace's model tokenizer); optional. */
  public Analysis withTokenText(java.util.function.IntFunction<String> tokenText) {
    this.tokenText = tokenText;
    return this;
  }

  private Analysis(
      TraceHeader header,
      Point reference,
      Map<String, RunRecord> refs,
      List<RunResult> runs,
      Analyzer.Options options,
      double temperature) {
    this.header = header;
    this.reference = reference;
    this.refs = refs;
    this.runs = runs;
    this.options = options;
    this.temperature = temperature;
  }

  static Analysis build(
      TraceHeader header,
      Point reference,
      Map<String, RunRecord> refs,
      List<RunResult> results,
      Analyzer.Options o,
      double temperature) {
    // A fixed order: by point (as the grid lists axes), prompt, seed, repeat.
    List<RunResult> sorted = new ArrayList<>(results);
    sorted.sort(
        Comparator.comparing((RunResult r) -> r.point().key())
            .thenComparing(RunResult::promptId)
            .thenComparingLong(RunResult::seed)
            .thenComparingInt(RunResult::repeat));
    Analysis a = new Analysis(header, reference, refs, sorted, o, temperature);
    a.floors();
    a.verdicts();
    return a;
  }

  // --- floors and verdicts --------------------------------------------------------------------

  /** The axes where {@code p} differs from the reference ("repeat" for the reference's repeats). */
  List<String> differingAxes(RunResult r) {
    List<String> out = new ArrayList<>();
    Map<String, String> a = r.point().values();
    Map<String, String> b = reference.values();
    for (String axis : Point.AXES) {
      if (!a.get(axis).equals(b.get(axis))) {
        out.add(axis);
      }
    }
    if (out.isEmpty() && r.repeat() > 0) {
      out.add("repeat");
    }
    return out;
  }

  private void floors() {
    Map<Point, List<float[]>> byPoint = new LinkedHashMap<>();
    Map<String, List<float[]>> byAxis = new TreeMap<>();
    for (RunResult r : runs) {
      if (r.comparison() == null) {
        continue;
      }
      byPoint.computeIfAbsent(r.point(), x -> new ArrayList<>()).add(r.comparison().perStepDrift());
      List<String> axes = differingAxes(r);
      if (axes.size() == 1) {
        byAxis
            .computeIfAbsent(axes.get(0), x -> new ArrayList<>())
            .add(r.comparison().perStepDrift());
      }
    }
    int i = 0;
    for (Map.Entry<Point, List<float[]>> e : byPoint.entrySet()) {
      Stats.Estimate f = floor(concat(e.getValue()), i++);
      pointFloors.put(e.getKey(), f);
      if (!Double.isNaN(f.high())) {
        experimentFloor = Math.max(experimentFloor, f.high());
      }
    }
    for (Map.Entry<String, List<float[]>> e : byAxis.entrySet()) {
      axisFloors.put(e.getKey(), floor(concat(e.getValue()), i++));
    }
  }

  private Stats.Estimate floor(float[] v, int stream) {
    return Stats.bootstrapQuantile(
        v, options.floorQuantile(), options.resamples(), 20_000, BOOTSTRAP_SEED + stream);
  }

  static float[] concat(List<float[]> parts) {
    int n = 0;
    for (float[] p : parts) {
      n += p.length;
    }
    float[] out = new float[n];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  /**
   * A greedy divergence is explained when the reference's margin at that step is within twice the
   * point's noise floor (upper bound): two logits each moving by the floor move their difference by
   * up to twice it. A sampled divergence is explained when the draw sat closer to a CDF boundary
   * than the distributions moved. Anything else is unexplained: the logits moved more than the
   * condition moves them.
   */
  private void verdicts() {
    for (int i = 0; i < runs.size(); i++) {
      RunResult r = runs.get(i);
      if (r.verdict() != null) {
        continue;
      }
      Comparison c = r.comparison();
      double threshold;
      boolean explained;
      if (r.sampled() && !Double.isNaN(r.threshold())) {
        threshold = r.threshold();
        explained = c.drawMargin() <= threshold;
      } else {
        Stats.Estimate f = pointFloors.get(r.point());
        threshold = f == null || Double.isNaN(f.high()) ? 0 : 2 * f.high();
        explained = !c.prefixOnly() && c.refMargin() <= threshold;
      }
      runs.set(i, r.settled(explained ? Verdict.EXPLAINED : Verdict.UNEXPLAINED, threshold));
    }
  }

  // --- accessors for tests and reports --------------------------------------------------------

  public List<RunResult> runs() {
    return runs;
  }

  public TraceHeader header() {
    return header;
  }

  public Point reference() {
    return reference;
  }

  /** The noise floor of each point (runs there against their references). */
  public Map<Point, Stats.Estimate> pointFloors() {
    return pointFloors;
  }

  /** The noise floor of each axis, from points that differ from the reference in it alone. */
  public Map<String, Stats.Estimate> axisFloors() {
    return axisFloors;
  }

  /** The largest point floor (upper bound): what the experiment's conditions can move a logit. */
  public double experimentFloor() {
    return experimentFloor;
  }

  /** The reference run a compared run was measured against. */
  public RunRecord referenceOf(RunResult r) {
    return refs.get(Analyzer.refKey(r.promptId(), r.seed()));
  }

  public long count(Verdict v) {
    return runs.stream().filter(r -> r.verdict() == v).count();
  }

  /** Runs compared against a reference (identical, explained or unexplained). */
  public List<RunResult> compared() {
    return runs.stream().filter(r -> r.comparison() != null).toList();
  }

  /** Div_Index of every divergent run. */
  public double[] divIndices() {
    return compared().stream()
        .filter(r -> !r.comparison().identical())
        .mapToDouble(r -> r.comparison().divIndex())
        .toArray();
  }

  /**
   * Kaplan–Meier share of compared runs not yet diverged by step t (t = 0..maxLen-1): a run that
   * ends without diverging is censored at its length.
   */
  public static double[] survival(List<RunResult> compared) {
    int maxT = 0;
    for (RunResult r : compared) {
      maxT = Math.max(maxT, Math.max(r.length(), r.comparison().divIndex() + 1));
    }
    int[] events = new int[maxT + 1];
    int[] exits = new int[maxT + 2]; // leaves the risk set after step t (event or censoring)
    for (RunResult r : compared) {
      Comparison c = r.comparison();
      if (c.identical()) {
        exits[Math.max(0, r.length())]++; // at risk for steps 0..length-1
      } else {
        events[c.divIndex()]++;
        exits[c.divIndex() + 1]++;
      }
    }
    double[] s = new double[maxT];
    int atRisk = compared.size();
    double surv = 1;
    for (int t = 0; t < maxT; t++) {
      atRisk -= exits[t];
      if (atRisk > 0) {
        surv *= 1 - events[t] / (double) atRisk;
      }
      s[t] = surv;
    }
    return s;
  }

  /** The share of (prompt, point, seed) groups whose repeats all produced the same tokens. */
  public Stats.Proportion tarr(List<RunResult> rs) {
    Map<String, Set<Long>> groups = new TreeMap<>();
    Map<String, Integer> sizes = new HashMap<>();
    for (RunResult r : rs) {
      if (r.status() != RunRecord.Status.OK) {
        continue;
      }
      String k = r.promptId() + "|" + r.point().key() + "|" + r.seed();
      groups.computeIfAbsent(k, x -> new HashSet<>()).add(r.tokensHash());
      sizes.merge(k, 1, Integer::sum);
    }
    long all = 0;
    long same = 0;
    for (Map.Entry<String, Set<Long>> e : groups.entrySet()) {
      if (sizes.get(e.getKey()) < 2) {
        continue;
      }
      all++;
      same += e.getValue().size() == 1 ? 1 : 0;
    }
    return Stats.wilson(same, all);
  }

  /** Repeats per (prompt, point, seed) group, the N of TARr@N. */
  int repeats() {
    return runs.stream().mapToInt(RunResult::repeat).max().orElse(0) + 1;
  }

  // --- JSON ------------------------------------------------------------------------------------

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** analysis.json. */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("schema", SCHEMA);
    root.put("experiment", header.experiment());
    root.put("spec_sha256", header.specSha256());
    root.put("grid_size", header.gridSize());
    root.put("reference", reference.key());
    ObjectNode settings = root.putObject("settings");
    settings.put("floor_quantile", options.floorQuantile());
    num(settings, "near_tie_nats", options.nearTie());
    settings.put("bootstrap_resamples", options.resamples());
    settings.put("temperature", temperature);
    ObjectNode dec = root.putObject("decoding");
    new TreeMap<>(header.decoding()).forEach(dec::put);
    ObjectNode man = root.putObject("manifest");
    new TreeMap<>(header.manifest()).forEach(man::put);
    headline(root.putObject("headline"));
    root.put("summary", summary());
    points(root.putArray("points"));
    axes(root.putArray("axes"));
    prompts(root.putArray("prompts"));
    tests(root.putObject("tests"));
    nearTies(root.putObject("near_ties"));
    agreement(root.putObject("agreement"));
    divergences(root.putArray("divergences"));
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private void headline(ObjectNode h) {
    List<RunResult> cmp = compared();
    h.put("runs", runs.size());
    h.put("compared", cmp.size());
    h.put("references", count(Verdict.REFERENCE));
    long identical = count(Verdict.IDENTICAL);
    prop(h.putObject("identical"), Stats.wilson(identical, cmp.size()));
    h.put("diverged", cmp.size() - identical);
    h.put("explained", count(Verdict.EXPLAINED));
    h.put("unexplained", count(Verdict.UNEXPLAINED));
    h.put("failed", count(Verdict.FAILED));
    h.put("skipped", count(Verdict.SKIPPED));
    h.put("no_reference", count(Verdict.NO_REFERENCE));
    double[] div = divIndices();
    num(h, "median_div_index", div.length == 0 ? Double.NaN : median(div));
    Map<String, Set<Long>> unique = uniqueCompletions();
    h.put("unique_completions_max", unique.values().stream().mapToInt(Set::size).max().orElse(0));
    prop(h.putObject("tarr"), tarr(runs));
    h.put("tarr_n", repeats());
    num(h, "experiment_floor", experimentFloor);
  }

  /** Distinct token sequences per (prompt, seed) over every ok run. */
  Map<String, Set<Long>> uniqueCompletions() {
    Map<String, Set<Long>> m = new TreeMap<>();
    for (RunResult r : runs) {
      if (r.status() == RunRecord.Status.OK) {
        m.computeIfAbsent(r.promptId() + " seed " + r.seed(), x -> new HashSet<>())
            .add(r.tokensHash());
      }
    }
    return m;
  }

  /** One sentence a person reads first, then how far each varied condition moves the logits. */
  public String summary() {
    StringBuilder floors = new StringBuilder();
    for (Map.Entry<String, Stats.Estimate> e : axisFloors.entrySet()) {
      if (!Double.isNaN(e.getValue().value())) {
        floors
            .append(floors.length() == 0 ? "" : ", ")
            .append(e.getKey())
            .append(' ')
            .append(fmt(e.getValue().high()));
      }
    }
    String tail =
        floors.length() == 0
            ? ""
            : " Noise floor by condition (99th percentile |Δlogit|, upper 95% bound): "
                + floors
                + ".";
    long skipped = count(Verdict.SKIPPED);
    long failed = count(Verdict.FAILED);
    String missing =
        skipped + failed == 0
            ? ""
            : String.format(
                java.util.Locale.ROOT,
                " %d run(s) skipped (a device the spec marks optional is not here) and %d failed;"
                    + " the trace holds the reasons.",
                skipped,
                failed);
    return verdictSentence() + missing + tail;
  }

  private String verdictSentence() {
    List<RunResult> cmp = compared();
    long diverged = cmp.stream().filter(r -> !r.comparison().identical()).count();
    long unexplained = count(Verdict.UNEXPLAINED);
    long explained = count(Verdict.EXPLAINED);
    if (cmp.isEmpty()) {
      return "No run could be compared with a reference run.";
    }
    if (diverged == 0) {
      return String.format(
          java.util.Locale.ROOT,
          "All %d compared runs matched their reference token for token; the largest logit drift"
              + " was %s.",
          cmp.size(),
          fmt(cmp.stream().mapToDouble(r -> r.comparison().maxDrift()).max().orElse(0)));
    }
    Map<String, Long> byAxis = new TreeMap<>();
    for (RunResult r : cmp) {
      if (!r.comparison().identical()) {
        List<String> ax = differingAxes(r);
        byAxis.merge(ax.isEmpty() ? "no axis" : String.join("+", ax), 1L, Long::sum);
      }
    }
    String by =
        byAxis.entrySet().stream()
            .sorted(
                Map.Entry.<String, Long>comparingByValue()
                    .reversed()
                    .thenComparing(Map.Entry.comparingByKey()))
            .map(e -> e.getKey() + " " + e.getValue())
            .collect(java.util.stream.Collectors.joining(", "));
    String kind =
        unexplained == 0
            ? "all at near-ties within the noise floor of their condition"
            : explained == 0
                ? "none explained by numerical noise (the logits moved more than the conditions"
                    + " move them)"
                : explained
                    + " at near-ties within the noise floor, "
                    + unexplained
                    + " unexplained";
    return String.format(
        java.util.Locale.ROOT,
        "%d of %d runs diverged from their reference; %s. Divergences by changed axis: %s. First"
            + " divergence at token %s at the median.",
        diverged,
        cmp.size(),
        kind,
        by,
        fmt(median(divIndices())));
  }

  private void points(ArrayNode arr) {
    Map<Point, List<RunResult>> byPoint = new LinkedHashMap<>();
    for (RunResult r : runs) {
      byPoint.computeIfAbsent(r.point(), x -> new ArrayList<>()).add(r);
    }
    for (Map.Entry<Point, List<RunResult>> e : byPoint.entrySet()) {
      Point p = e.getKey();
      List<RunResult> rs = e.getValue();
      List<RunResult> cmp = rs.stream().filter(r -> r.comparison() != null).toList();
      ObjectNode n = arr.addObject();
      n.put("key", p.key());
      ObjectNode pt = n.putObject("point");
      p.values().forEach(pt::put);
      n.put("reference", p.equals(reference));
      n.put("runs", rs.size());
      n.put("compared", cmp.size());
      long same = cmp.stream().filter(r -> r.comparison().identical()).count();
      prop(n.putObject("identical"), Stats.wilson(same, cmp.size()));
      n.put("explained", cmp.stream().filter(r -> r.verdict() == Verdict.EXPLAINED).count());
      n.put("unexplained", cmp.stream().filter(r -> r.verdict() == Verdict.UNEXPLAINED).count());
      estimate(n.putObject("noise_floor"), pointFloors.get(p));
      num(n, "max_drift", cmp.stream().mapToDouble(r -> r.comparison().maxDrift()).max().orElse(0));
      num(
          n,
          "max_drift_ulps",
          cmp.stream().mapToDouble(r -> r.comparison().maxDriftUlps()).max().orElse(0));
      divStats(n.putObject("div_index"), cmp);
      ArrayNode surv = n.putArray("survival");
      for (double v : survival(cmp)) {
        surv.add(round(v));
      }
      atRisk(n, p, cmp);
      prop(n.putObject("tarr"), tarr(rs));
    }
  }

  /** Reference steps whose margin the point's floor could cross, and runs predicted to diverge. */
  private void atRisk(ObjectNode n, Point p, List<RunResult> cmp) {
    Stats.Estimate f = pointFloors.get(p);
    double threshold = f == null || Double.isNaN(f.high()) ? 0 : 2 * f.high();
    long steps = 0;
    long predicted = 0;
    long observed = 0;
    for (RunResult r : cmp) {
      RunRecord ref = refs.get(Analyzer.refKey(r.promptId(), r.seed()));
      boolean risky = false;
      for (int i = 0; i < ref.steps().size(); i++) {
        if (ref.steps().margin(i) <= threshold) {
          steps++;
          risky = true;
        }
      }
      predicted += risky ? 1 : 0;
      observed += r.comparison().identical() ? 0 : 1;
    }
    num(n, "at_risk_threshold", threshold);
    n.put("at_risk_steps", steps);
    n.put("predicted_divergences", predicted);
    n.put("observed_divergences", observed);
  }

  private void divStats(ObjectNode n, List<RunResult> cmp) {
    double[] d =
        cmp.stream()
            .filter(r -> !r.comparison().identical())
            .mapToDouble(r -> r.comparison().divIndex())
            .toArray();
    n.put("n", d.length);
    num(n, "median", d.length == 0 ? Double.NaN : median(d));
    num(n, "q1", d.length == 0 ? Double.NaN : quantile(d, 0.25));
    num(n, "q3", d.length == 0 ? Double.NaN : quantile(d, 0.75));
    ArrayNode h = n.putArray("histogram");
    int max = 0;
    for (double v : d) {
      max = Math.max(max, (int) v);
    }
    int[] counts = new int[d.length == 0 ? 0 : max + 1];
    for (double v : d) {
      counts[(int) v]++;
    }
    for (int c : counts) {
      h.add(c);
    }
  }

  private void axes(ArrayNode arr) {
    List<RunResult> cmp = compared();
    long allDiverged = cmp.stream().filter(r -> !r.comparison().identical()).count();
    List<String> axes = new ArrayList<>(List.of(Point.AXES));
    axes.add("repeat");
    for (String axis : axes) {
      Map<String, long[]> byValue = new TreeMap<>(Comparator.comparing(Analysis::sortKey));
      if (!axis.equals("repeat")) {
        for (RunResult r : cmp) {
          long[] c = byValue.computeIfAbsent(r.point().values().get(axis), x -> new long[4]);
          c[0]++;
          if (!r.comparison().identical()) {
            c[1]++;
            c[r.verdict() == Verdict.EXPLAINED ? 2 : 3]++;
          }
        }
      }
      List<RunResult> single =
          cmp.stream().filter(r -> differingAxes(r).equals(List.of(axis))).toList();
      if (byValue.size() < 2 && single.isEmpty()) {
        continue; // an axis the experiment did not vary
      }
      ObjectNode n = arr.addObject();
      n.put("axis", axis);
      n.put("reference_value", axis.equals("repeat") ? "0" : reference.values().get(axis));
      ArrayNode vals = n.putArray("values");
      long[][] table = new long[byValue.size()][];
      int i = 0;
      for (Map.Entry<String, long[]> e : byValue.entrySet()) {
        long[] c = e.getValue();
        ObjectNode v = vals.addObject();
        v.put("value", e.getKey());
        v.put("runs", c[0]);
        prop(v.putObject("diverged"), Stats.wilson(c[1], c[0]));
        v.put("explained", c[2]);
        v.put("unexplained", c[3]);
        String value = e.getKey();
        ArrayNode surv = v.putArray("survival");
        if (!axis.equals("repeat")) {
          for (double x :
              survival(
                  cmp.stream().filter(r -> r.point().values().get(axis).equals(value)).toList())) {
            surv.add(round(x));
          }
        }
        table[i++] = new long[] {c[1], c[0] - c[1]};
      }
      ObjectNode test = n.putObject("test");
      if (table.length == 2) {
        test.put("name", "fisher-exact (two-sided)");
        num(test, "p", Stats.fisherExact(table[0][0], table[0][1], table[1][0], table[1][1]));
      } else if (table.length > 2) {
        test.put("name", "chi-square independence");
        num(test, "p", Stats.chiSquare(table));
      } else {
        test.put("name", "none (one value)");
        test.putNull("p");
      }
      // Attribution: points that differ from the reference in this axis alone.
      ObjectNode att = n.putObject("single_axis");
      att.put("runs", single.size());
      long d = single.stream().filter(r -> !r.comparison().identical()).count();
      prop(att.putObject("diverged"), Stats.wilson(d, single.size()));
      att.put("explained", single.stream().filter(r -> r.verdict() == Verdict.EXPLAINED).count());
      att.put(
          "unexplained", single.stream().filter(r -> r.verdict() == Verdict.UNEXPLAINED).count());
      num(att, "share_of_all_divergences", allDiverged == 0 ? 0 : d / (double) allDiverged);
      num(
          att,
          "median_max_drift",
          single.isEmpty()
              ? Double.NaN
              : median(single.stream().mapToDouble(r -> r.comparison().maxDrift()).toArray()));
      estimate(att.putObject("noise_floor"), axisFloors.get(axis));
    }
  }

  /** Numbers sort as numbers, other values as text. */
  static String sortKey(String v) {
    try {
      double d = Double.parseDouble(v);
      return String.format(java.util.Locale.ROOT, "0%020.6f", d + 1e9);
    } catch (NumberFormatException e) {
      return "1" + v;
    }
  }

  private void prompts(ArrayNode arr) {
    Map<String, List<RunResult>> byPrompt = new TreeMap<>();
    for (RunResult r : runs) {
      byPrompt.computeIfAbsent(r.promptId(), x -> new ArrayList<>()).add(r);
    }
    for (Map.Entry<String, List<RunResult>> e : byPrompt.entrySet()) {
      List<RunResult> rs = e.getValue();
      ObjectNode n = arr.addObject();
      n.put("id", e.getKey());
      n.put("prompt", rs.get(0).prompt());
      n.put("runs", rs.size());
      Map<Long, Set<Long>> perSeed = new TreeMap<>();
      double[] lengths =
          rs.stream()
              .filter(r -> r.status() == RunRecord.Status.OK)
              .mapToDouble(RunResult::length)
              .toArray();
      for (RunResult r : rs) {
        if (r.status() == RunRecord.Status.OK) {
          perSeed.computeIfAbsent(r.seed(), x -> new HashSet<>()).add(r.tokensHash());
        }
      }
      n.put("unique_completions", perSeed.values().stream().mapToInt(Set::size).max().orElse(0));
      ObjectNode len = n.putObject("length");
      num(len, "min", Arrays.stream(lengths).min().orElse(Double.NaN));
      num(len, "max", Arrays.stream(lengths).max().orElse(Double.NaN));
      num(len, "sd", sd(lengths));
      prop(n.putObject("tarr"), tarr(rs));
    }
  }

  private void tests(ObjectNode t) {
    List<RunResult> cmp = compared();
    // Margins at divergence steps against margins at every reference step.
    double[] atDiv =
        cmp.stream()
            .filter(
                r ->
                    !r.sampled()
                        && !r.comparison().identical()
                        && !Double.isNaN(r.comparison().refMargin()))
            .mapToDouble(r -> r.comparison().refMargin())
            .toArray();
    List<Double> all = new ArrayList<>();
    for (RunRecord ref : sortedRefs()) {
      for (int i = 0; i < ref.steps().size(); i++) {
        all.add((double) ref.steps().margin(i));
      }
    }
    double[] allM = all.stream().mapToDouble(Double::doubleValue).toArray();
    ObjectNode mw = t.putObject("margins_at_divergence_vs_all_steps");
    mw.put("test", "mann-whitney-u, one-sided: divergence margins smaller");
    mw.put("n_divergence", atDiv.length);
    mw.put("n_all", allM.length);
    num(mw, "median_divergence", atDiv.length == 0 ? Double.NaN : median(atDiv));
    num(mw, "median_all", allM.length == 0 ? Double.NaN : median(allM));
    num(mw, "p", Stats.mannWhitneyLess(atDiv, allM));
    // Flip rate against the reference margin, over every aligned greedy step.
    long[] steps = new long[MARGIN_BINS.length - 1];
    long[] flips = new long[MARGIN_BINS.length - 1];
    for (RunResult r : cmp) {
      if (r.sampled()) {
        continue;
      }
      Comparison c = r.comparison();
      RunRecord ref = refs.get(Analyzer.refKey(r.promptId(), r.seed()));
      int last = c.identical() ? c.alignedSteps() : Math.min(c.alignedSteps(), c.divIndex() + 1);
      for (int i = 0; i < last && i < ref.steps().size(); i++) {
        int b = bin(ref.steps().margin(i));
        steps[b]++;
        if (i == c.divIndex() && !c.prefixOnly()) {
          flips[b]++;
        }
      }
    }
    // Reference margins in half-decade bins, all steps and the steps where runs diverged.
    ObjectNode mh = t.putObject("margin_histogram");
    mh.put("unit", "nats, log10 bins of half a decade; first bin also holds 0");
    ArrayNode edges = mh.putArray("edges");
    int nb = 20; // 1e-7 .. 1e3
    for (int b = 0; b <= nb; b++) {
      edges.add(round(Math.pow(10, -7 + b * 0.5)));
    }
    long[] hAll = new long[nb];
    long[] hDiv = new long[nb];
    for (double m : allM) {
      hAll[logBin(m, nb)]++;
    }
    for (double m : atDiv) {
      hDiv[logBin(m, nb)]++;
    }
    ArrayNode ha = mh.putArray("all_steps");
    ArrayNode hd = mh.putArray("divergence_steps");
    for (int b = 0; b < nb; b++) {
      ha.add(hAll[b]);
      hd.add(hDiv[b]);
    }
    ArrayNode fr = t.putArray("flip_rate_by_margin");
    for (int b = 0; b < steps.length; b++) {
      ObjectNode n = fr.addObject();
      num(n, "margin_from", MARGIN_BINS[b]);
      num(n, "margin_to", MARGIN_BINS[b + 1]);
      prop(n.putObject("flips"), Stats.wilson(flips[b], steps[b]));
    }
  }

  static int logBin(double m, int nb) {
    if (!(m > 1e-7)) {
      return 0;
    }
    return Math.min(nb - 1, (int) Math.floor((Math.log10(m) + 7) * 2));
  }

  /** Exact-agreement rate of every (prompt, point) cell: the heatmap's data. */
  private void agreement(ObjectNode n) {
    List<RunResult> cmp = compared();
    List<String> prompts = cmp.stream().map(RunResult::promptId).distinct().sorted().toList();
    List<String> points = new ArrayList<>();
    for (RunResult r : runs) {
      if (!points.contains(r.point().key())) {
        points.add(r.point().key());
      }
    }
    ArrayNode pr = n.putArray("prompts");
    prompts.forEach(pr::add);
    ArrayNode pt = n.putArray("points");
    points.forEach(pt::add);
    ArrayNode rates = n.putArray("identical_rate");
    for (String p : prompts) {
      ArrayNode row = rates.addArray();
      for (String k : points) {
        long all = 0;
        long same = 0;
        for (RunResult r : cmp) {
          if (r.promptId().equals(p) && r.point().key().equals(k)) {
            all++;
            same += r.comparison().identical() ? 1 : 0;
          }
        }
        if (all == 0) {
          row.addNull();
        } else {
          row.add(round(same / (double) all));
        }
      }
    }
  }

  static int bin(double margin) {
    for (int b = 0; b < MARGIN_BINS.length - 1; b++) {
      if (margin < MARGIN_BINS[b + 1]) {
        return b;
      }
    }
    return MARGIN_BINS.length - 2;
  }

  private List<RunRecord> sortedRefs() {
    return new TreeMap<>(refs).values().stream().toList();
  }

  private void nearTies(ObjectNode n) {
    num(n, "threshold_nats", options.nearTie());
    long total = 0;
    long near = 0;
    for (RunRecord ref : sortedRefs()) {
      for (int i = 0; i < ref.steps().size(); i++) {
        total++;
        near += ref.steps().margin(i) <= options.nearTie() ? 1 : 0;
      }
    }
    n.put("reference_steps", total);
    n.put("near_tie_steps", near);
    ArrayNode planted = n.putArray("planted");
    for (Analyzer.PlantedTie t : options.nearTies()) {
      RunRecord ref =
          sortedRefs().stream().filter(r -> r.prompt().equals(t.prefix())).findFirst().orElse(null);
      if (ref == null || ref.steps().size() == 0) {
        continue;
      }
      Steps s = ref.steps();
      ObjectNode p = planted.addObject();
      p.put("id", t.id());
      p.put("prefix", t.prefix());
      p.put("kind", t.kind());
      num(p, "margin", s.margin(0));
      num(p, "top2_over_top1", Math.exp(-s.margin(0)));
      p.put("near_tie", s.margin(0) <= options.nearTie());
      long flips =
          compared().stream()
              .filter(r -> r.prompt().equals(t.prefix()) && r.comparison().divIndex() == 0)
              .count();
      p.put("flips_at_this_step", flips);
    }
  }

  /** Divergent runs, worst first: unexplained before explained, then larger margins first. */
  List<RunResult> worst() {
    return runs.stream()
        .filter(r -> r.comparison() != null && !r.comparison().identical())
        .sorted(
            Comparator.comparing((RunResult r) -> r.verdict() == Verdict.EXPLAINED)
                .thenComparing(
                    r -> Double.isNaN(r.comparison().refMargin()) ? 0 : -r.comparison().refMargin())
                .thenComparing(RunResult::id))
        .toList();
  }

  private void divergences(ArrayNode arr) {
    Set<String> withContext = new HashSet<>();
    for (RunResult r : worst()) {
      if (withContext.size() < CONTEXTS) {
        withContext.add(r.id());
      }
    }
    int rank = 0;
    for (RunResult r : worst()) {
      rank++;
      Comparison c = r.comparison();
      RunRecord ref = refs.get(Analyzer.refKey(r.promptId(), r.seed()));
      ObjectNode n = arr.addObject();
      n.put("run", r.id());
      n.put("prompt_id", r.promptId());
      n.put("point", r.point().key());
      n.put("axes", String.join(",", differingAxes(r)));
      n.put("seed", r.seed());
      n.put("repeat", r.repeat());
      n.put("div_index", c.divIndex());
      n.put("verdict", r.verdict().label());
      num(n, "ref_margin", c.refMargin());
      num(n, "ref_margin_scaled", temperature > 0 ? c.refMargin() / temperature : c.refMargin());
      num(n, "threshold", r.threshold());
      num(n, "drift_top1", c.driftTop1());
      num(n, "drift_top2", c.driftTop2());
      num(n, "draw_margin", c.drawMargin());
      num(n, "max_drift", c.maxDrift());
      n.put("length_diff", c.lengthDiff());
      n.put("prefix_only", c.prefixOnly());
      if (c.divIndex() < ref.tokens().length) {
        n.put("ref_token", ref.tokens()[c.divIndex()]);
      }
      n.put("ref_text", ref.text());
      n.put("run_text", r.text());
      n.put("rank", rank);
      if (withContext.contains(r.id())) {
        context(n.putObject("context"), ref, r);
      }
    }
  }

  /** The reference's tokens with margins and top alternatives, and the run's tokens. */
  private void context(ObjectNode n, RunRecord ref, RunResult r) {
    Steps s = ref.steps();
    ArrayNode toks = n.putArray("ref_tokens");
    for (int i = 0; i < ref.tokens().length; i++) {
      ObjectNode t = toks.addObject();
      t.put("id", ref.tokens()[i]);
      t.put("text", text(ref.tokens()[i]));
      num(t, "margin", s.margin(i));
      ArrayNode alts = t.putArray("top");
      for (int j = 0; j < Math.min(5, s.k()); j++) {
        if (s.topId(i, j) < 0) {
          continue;
        }
        ObjectNode a = alts.addObject();
        a.put("id", s.topId(i, j));
        a.put("text", text(s.topId(i, j)));
        num(a, "logit", s.topLogit(i, j));
      }
    }
    ArrayNode run = n.putArray("run_tokens");
    for (int id : r.tokens()) {
      ObjectNode t = run.addObject();
      t.put("id", id);
      t.put("text", text(id));
    }
  }

  private String text(int id) {
    return tokenText == null ? "#" + id : tokenText.apply(id);
  }

  // --- helpers ---------------------------------------------------------------------------------

  private static void prop(ObjectNode n, Stats.Proportion p) {
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
    return new java.math.BigDecimal(v).round(new java.math.MathContext(9)).doubleValue();
  }

  static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      return Long.toString((long) v);
    }
    return new java.math.BigDecimal(v)
        .round(new java.math.MathContext(3))
        .stripTrailingZeros()
        .toPlainString();
  }

  static double median(double[] v) {
    return quantile(v, 0.5);
  }

  static double quantile(double[] v, double q) {
    return Stats.quantile(v, q);
  }

  static double sd(double[] v) {
    if (v.length < 2) {
      return v.length == 1 ? 0 : Double.NaN;
    }
    return new org.apache.commons.math3.stat.descriptive.moment.StandardDeviation().evaluate(v);
  }
}
