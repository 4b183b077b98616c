package io.tokendrift.check;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.analysis.Compare;
import io.tokendrift.analysis.Comparison;
import io.tokendrift.analysis.FlipRule;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntFunction;

/**
 * A regression check: every run of a new trace against its golden twin in the baseline (the run
 * with the same id; for a point the baseline did not record, its reference run of the same prompt
 * and seed). Token-identical runs pass; divergences at explained near-ties pass within a budget;
 * unexplained divergences and drift beyond the tolerance fail.
 */
public final class Check {
  /**
   * Check settings.
   *
   * @param driftTolerance largest |Δlogit| on shared steps that passes; NaN = 10 × the baseline's
   *     noise floor, at least 1e-4
   * @param explainedBudget share of runs that may diverge at explained near-ties and still pass
   * @param accuracyTolerance for prompts with an expected answer: the largest change of a
   *     condition's accuracy (a share, 0.05 = 5 points) that passes; NaN = accuracy not checked
   */
  public record Options(double driftTolerance, double explainedBudget, double accuracyTolerance) {
    public static final Options DEFAULTS = new Options(Double.NaN, 0.1);

    /** Options that do not check accuracy. */
    public Options(double driftTolerance, double explainedBudget) {
      this(driftTolerance, explainedBudget, Double.NaN);
    }
  }

  /**
   * What a run of the new trace is, against its twin. Not {@link Analyzer.Verdict}: a check has no
   * reference runs, no skipped runs and no "no reference" (its own miss is the twin, {@link
   * #NO_TWIN}), and it has {@link #DRIFT}, which an analysis never gives.
   */
  public enum Verdict {
    /** The same tokens, logits within the tolerance. */
    IDENTICAL,
    /** Diverged at a near-tie the flip rule explains, logits within the tolerance before it. */
    EXPLAINED,
    /** Diverged where the flip rule does not explain it. */
    UNEXPLAINED,
    /** Logits moved beyond the tolerance (same tokens, or an explained divergence). */
    DRIFT,
    /** The baseline has no run of this prompt and seed. */
    NO_TWIN,
    /** The new run failed. */
    FAILED;

    /** The verdict as outputs write it: "identical", "no-twin", … */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /**
     * Whether a run with this verdict passes on its own: identical or explained. An explained run
     * still fails when the explained divergences exceed the budget ({@link RunVerdict#pass()}).
     */
    public boolean passes() {
      return this == IDENTICAL || this == EXPLAINED;
    }
  }

  /**
   * One run's verdict.
   *
   * @param pass whether it passes: {@link Verdict#passes()}, unless over the explained budget
   * @param maxDrift largest |Δlogit| against its twin on their shared steps (0: the same bits)
   */
  public record RunVerdict(
      String id,
      String promptId,
      String point,
      Verdict verdict,
      boolean pass,
      String message,
      double maxDrift) {}

  /**
   * Manifest keys that name the machine or the math library's code path: where one differs, the
   * same model computes other bits (kernels chosen by the CPU's instruction sets, MKL's CNR mode,
   * libtorch's ATEN_CPU_CAPABILITY, the thread count that splits the sums).
   */
  static boolean machineKey(String k) {
    return k.startsWith("cpu.")
        || k.startsWith("env.")
        || k.equals("os.arch")
        || k.equals("pytorch.version")
        || k.equals("djl.version")
        || k.equals("torch.version")
        || k.equals("pytorch.threads.default")
        || k.endsWith(".pytorch.version")
        || k.endsWith(".torch.version");
  }

  /**
   * The outcome.
   *
   * @param runs one verdict per run of the new trace
   * @param manifestChanges key → [baseline value, new value] for every manifest entry that differs
   * @param floor the noise floor used: the baseline's (the new trace's own noise never widens the
   *     bar it is judged by)
   * @param tolerance the drift tolerance used
   * @param budget how many explained divergences may pass
   * @param pass the verdict
   * @param accuracyChanges conditions whose accuracy moved beyond the accuracy tolerance, in words
   *     (empty when accuracy was not checked or held)
   */
  public record Result(
      String experiment,
      List<RunVerdict> runs,
      Map<String, String[]> manifestChanges,
      double floor,
      double tolerance,
      int budget,
      boolean pass,
      List<String> accuracyChanges) {

    /** A result whose accuracy was not checked. */
    public Result(
        String experiment,
        List<RunVerdict> runs,
        Map<String, String[]> manifestChanges,
        double floor,
        double tolerance,
        int budget,
        boolean pass) {
      this(experiment, runs, manifestChanges, floor, tolerance, budget, pass, List.of());
    }

    public long count(Verdict verdict) {
      return runs.stream().filter(r -> r.verdict() == verdict).count();
    }

    public List<RunVerdict> failures() {
      return runs.stream().filter(r -> !r.pass()).toList();
    }

    /** The changed manifest entries that name the machine or its math path. */
    public List<String> machineChanges() {
      return manifestChanges.keySet().stream().filter(Check::machineKey).toList();
    }

    /**
     * When the baseline came from another machine or math path: a sentence saying that bit
     * differences are expected there, how many runs showed them, and which divergences the flip
     * rule tolerated; empty when the machine is the same.
     */
    public java.util.Optional<String> machineNote() {
      List<String> changed = machineChanges();
      if (changed.isEmpty()) {
        return java.util.Optional.empty();
      }
      List<String> what = new ArrayList<>();
      for (String k : changed) {
        String[] v = manifestChanges.get(k);
        what.add(
            k + " " + (v[0] == null ? "(none)" : v[0]) + " -> " + (v[1] == null ? "(none)" : v[1]));
      }
      long bits = runs.stream().filter(r -> r.maxDrift() > 0).count();
      double worst = runs.stream().mapToDouble(RunVerdict::maxDrift).max().orElse(0);
      List<String> tolerated =
          runs.stream()
              .filter(r -> r.pass() && r.verdict() == Verdict.EXPLAINED)
              .map(r -> r.promptId() + " at " + r.point())
              .distinct()
              .toList();
      return java.util.Optional.of(
          String.format(
              java.util.Locale.ROOT,
              "The baseline was recorded on another machine or math-library path (%s): bit"
                  + " differences are expected there. %d of %d runs differ in bits (max |Δlogit|"
                  + " %.3g, tolerance %.3g); %s",
              String.join("; ", what),
              bits,
              runs.size(),
              worst,
              tolerance,
              tolerated.isEmpty()
                  ? "no divergence needed tolerating."
                  : tolerated.size()
                      + " diverged at near-ties the flip rule explains and were tolerated: "
                      + String.join(", ", tolerated.subList(0, Math.min(10, tolerated.size())))
                      + (tolerated.size() > 10 ? ", …" : "")
                      + "."));
    }

    /** Plain-words verdict line. */
    public String summary() {
      return String.format(
              java.util.Locale.ROOT,
              "%s: %s — %d runs: %d identical, %d explained divergence(s) (budget %d), %d unexplained,"
                  + " %d drift beyond %.3g, %d without a twin, %d failed. %s",
              experiment,
              pass ? "PASS" : "CHANGED",
              runs.size(),
              count(Verdict.IDENTICAL),
              count(Verdict.EXPLAINED),
              budget,
              count(Verdict.UNEXPLAINED),
              count(Verdict.DRIFT),
              tolerance,
              count(Verdict.NO_TWIN),
              count(Verdict.FAILED),
              manifestChanges.isEmpty()
                  ? "Environment unchanged."
                  : "Environment changed: " + String.join(", ", manifestChanges.keySet()) + ".")
          + (accuracyChanges.isEmpty()
              ? ""
              : " Accuracy changed: " + String.join("; ", accuracyChanges) + ".");
    }
  }

  private Check() {}

  /** Compares {@code current} (a trace of the same experiment) with the baseline. */
  public static Result run(Baseline base, Path current, Options o, IntFunction<String> text) {
    Analysis baseAnalysis =
        Analyzer.analyze(List.of(base.trace()), Analyzer.Options.defaults(List.of()));
    // The baseline alone sets the bar: a regression that adds noise must not raise it.
    double floor = baseAnalysis.experimentFloor();
    double tolerance =
        Double.isNaN(o.driftTolerance()) ? Compare.defaultTolerance(floor) : o.driftTolerance();
    Judge judge =
        new Judge(
            base,
            baseReferences(base),
            FlipRule.Decoding.of(base.header()),
            2 * floor,
            tolerance,
            text,
            new ArrayList<>());
    List<RunVerdict> verdicts = new ArrayList<>();
    TraceHeader header;
    try (TraceReader r = TraceReader.open(current)) {
      header = r.header();
      while (r.hasNext()) {
        verdicts.add(judge.verdict(r.next(), verdicts.size()));
      }
    }
    int budget = (int) Math.floor(o.explainedBudget() * verdicts.size());
    if (judge.explainedAt().size() > budget) {
      // Over budget: every explained divergence fails, so the list shows them all.
      for (int i : judge.explainedAt()) {
        RunVerdict v = verdicts.get(i);
        verdicts.set(
            i,
            new RunVerdict(
                v.id(),
                v.promptId(),
                v.point(),
                v.verdict(),
                false,
                v.message() + " (over the budget of " + budget + " explained divergences)",
                v.maxDrift()));
      }
    }
    List<String> accuracy =
        Double.isNaN(o.accuracyTolerance())
            ? List.of()
            : accuracyChanges(baseAnalysis, current, o.accuracyTolerance());
    boolean pass = verdicts.stream().allMatch(RunVerdict::pass) && accuracy.isEmpty();
    return new Result(
        header.experiment(),
        verdicts,
        manifestChanges(base.header(), header),
        floor,
        tolerance,
        budget,
        pass,
        accuracy);
  }

  /**
   * The conditions whose accuracy (prompts with an expected answer) moved by more than {@code
   * tolerance} between the baseline and the new trace, e.g. "batch_size=8: 80% -> 60% (tolerance
   * 5%)"; a condition the baseline lacks is not compared.
   */
  static List<String> accuracyChanges(Analysis base, Path current, double tolerance) {
    Analysis now = Analyzer.analyze(List.of(current), Analyzer.Options.defaults(List.of()));
    if (!base.header().expectations().equals(now.header().expectations())) {
      throw new IllegalArgumentException(
          "--accuracy-tolerance: the baseline's expected answers differ from the spec's (record"
              + " the baseline again with the spec's expect:)");
    }
    io.tokendrift.analysis.Answers before = base.answers();
    io.tokendrift.analysis.Answers after = now.answers();
    if (before == null || after == null) {
      throw new IllegalArgumentException(
          "--accuracy-tolerance: no prompt of the spec has an expected answer (expect:)");
    }
    Map<String, io.tokendrift.analysis.Stats.Proportion> was = new HashMap<>();
    before.points().forEach(p -> was.put(p.point(), p.correct()));
    List<String> out = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    after.points().forEach(p -> seen.add(p.point()));
    was.keySet().stream()
        .filter(k -> !seen.contains(k))
        .sorted()
        .forEach(k -> out.add(k + ": answered in the baseline, not in the new run"));
    for (io.tokendrift.analysis.Answers.PointAnswers p : after.points()) {
      io.tokendrift.analysis.Stats.Proportion b = was.get(p.point());
      if (b != null && Math.abs(p.correct().rate() - b.rate()) > tolerance + 1e-12) {
        out.add(
            String.format(
                java.util.Locale.ROOT,
                "%s: %d/%d -> %d/%d correct (tolerance %.3g)",
                p.point(),
                b.successes(),
                b.trials(),
                p.correct().successes(),
                p.correct().trials(),
                tolerance));
      }
    }
    return out;
  }

  /** The baseline's reference runs (repeat 0 at its reference point) by prompt and seed. */
  private static Map<String, RunRecord> baseReferences(Baseline base) {
    PointKey baseRef = PointKey.parse(base.header().reference());
    Map<String, RunRecord> baseRefs = new HashMap<>();
    for (RunRecord r : base.runs().values()) {
      if (r.repeat() == 0 && PointKey.of(r.point()).equals(baseRef)) {
        baseRefs.putIfAbsent(r.prompt() + "\u0000" + r.seed(), r);
      }
    }
    return baseRefs;
  }

  /** Manifest key → [baseline value, new value] for every entry that differs. */
  private static Map<String, String[]> manifestChanges(TraceHeader base, TraceHeader now) {
    Map<String, String[]> changes = new TreeMap<>();
    TreeSet<String> keys = new TreeSet<>(base.manifest().keySet());
    keys.addAll(now.manifest().keySet());
    for (String k : keys) {
      String a = base.manifest().get(k);
      String b = now.manifest().get(k);
      if (a == null ? b != null : !a.equals(b)) {
        changes.put(k, new String[] {a, b});
      }
    }
    return changes;
  }

  /**
   * Judges each run of the new trace against its twin.
   *
   * @param explainedAt indexes of the explained divergences so far (filled as runs are judged)
   */
  private record Judge(
      Baseline base,
      Map<String, RunRecord> baseRefs,
      FlipRule.Decoding decoding,
      double threshold,
      double tolerance,
      IntFunction<String> text,
      List<Integer> explainedAt) {

    RunVerdict verdict(RunRecord rec, int index) {
      String point = PointKey.keyOf(rec.point());
      if (rec.status() != RunRecord.Status.OK) {
        return new RunVerdict(
            rec.id(),
            rec.promptId(),
            point,
            Verdict.FAILED,
            false,
            "FAILED: prompt \"" + rec.prompt() + "\" at " + point + ": " + rec.error(),
            0);
      }
      RunRecord twin = base.runs().get(rec.id());
      if (twin == null) {
        twin = baseRefs.get(rec.prompt() + "\u0000" + rec.seed());
      }
      if (twin == null) {
        return new RunVerdict(
            rec.id(),
            rec.promptId(),
            point,
            Verdict.NO_TWIN,
            false,
            "NO-TWIN: prompt \""
                + rec.prompt()
                + "\" at "
                + point
                + ": the baseline has no run of this prompt and seed; record it again",
            0);
      }
      return compared(rec, twin, point, index);
    }

    private RunVerdict compared(RunRecord rec, RunRecord twin, String point, int index) {
      Comparison c =
          rec.textOnly() || twin.textOnly()
              ? Comparison.ofText(twin, rec)
              : Comparison.of(twin, rec);
      Verdict verdict;
      if (c.identical()) {
        verdict = c.maxDrift() <= tolerance ? Verdict.IDENTICAL : Verdict.DRIFT;
      } else if (FlipRule.explained(c, decoding, threshold) && c.maxDrift() <= tolerance) {
        verdict = Verdict.EXPLAINED;
        explainedAt.add(index);
      } else {
        verdict =
            c.maxDrift() > tolerance && FlipRule.explained(c, decoding, threshold)
                ? Verdict.DRIFT
                : Verdict.UNEXPLAINED;
      }
      return new RunVerdict(
          rec.id(),
          rec.promptId(),
          point,
          verdict,
          verdict.passes(),
          CheckMessage.of(
              rec.prompt(),
              point,
              twin.tokens(),
              rec.tokens(),
              c,
              verdict.label(),
              threshold,
              tolerance,
              text),
          c.maxDrift());
    }
  }
}
