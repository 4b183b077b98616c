package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntFunction;

/**
 * The analysis of one experiment: per-run verdicts, noise floors, and the aggregates, tests,
 * near-ties and divergences computed from them (each by its own small computation in this package).
 * {@link AnalysisJson} writes it as {@code analysis.json}.
 */
public final class Analysis {
  public static final String SCHEMA = "tokendrift.analysis/2";

  /** How many divergent runs get their tokens in context (worst first): what the reports show. */
  public static final int CONTEXTS = 25;

  final TraceHeader header;
  final PointKey reference;
  final Analyzer.Options options;
  final List<RunResult> runs;
  final Map<String, Reference> refs;
  final double temperature;
  final Axes axes;
  final Floors floors;
  private final List<String> torn;
  private final Map<Integer, String> providerTexts;
  private final ProviderSummary providerSummary;
  private final EnvSummary envSummary;
  private final List<GroupSummary> groups;
  private final Truth truth;
  private final IntFunction<String> tokenText;
  private final RunSpill spill;

  /** Traces whose last record was cut off (a crash mid-write), as {@code file:line}: ignored. */
  public List<String> tornRecords() {
    return torn;
  }

  /**
   * Runs of the grid that the traces do not hold (0 for a shard's trace, which holds only its
   * share): a trace left incomplete by a crash, a kill or a failed batch never analyses silently.
   */
  public long missingRuns() {
    return header.shard().equals("all") ? Math.max(0, header.gridSize() - runs.size()) : 0;
  }

  private Analysis(
      TraceHeader header,
      PointKey reference,
      Map<String, Reference> refs,
      List<RunResult> runs,
      Analyzer.Options options,
      double temperature,
      List<String> torn,
      Map<Integer, String> providerTexts,
      ProviderSummary providerSummary,
      EnvSummary envSummary,
      List<GroupSummary> groups,
      Truth truth,
      RunSpill spill) {
    this.spill = spill;
    this.torn = List.copyOf(torn);
    this.groups = List.copyOf(groups);
    this.truth = truth;
    this.header = header;
    this.reference = reference;
    this.refs = refs;
    this.options = options;
    this.temperature = temperature;
    this.axes = Axes.of(reference, runs);
    this.floors = Floors.of(runs, axes, options, this::drift);
    floors.settle(runs, FlipRule.Decoding.of(header));
    // Settled: from here on no one changes them, so copies (withTokenText) can share them.
    this.runs = Collections.unmodifiableList(runs);
    this.providerTexts = Map.copyOf(providerTexts);
    this.providerSummary = providerSummary;
    this.envSummary = envSummary;
    this.tokenText = null;
  }

  /** {@code a} with other token texts: everything else is shared (none of it changes). */
  private Analysis(Analysis a, IntFunction<String> tokenText) {
    this.torn = a.torn;
    this.header = a.header;
    this.reference = a.reference;
    this.refs = a.refs;
    this.runs = a.runs;
    this.options = a.options;
    this.temperature = a.temperature;
    this.axes = a.axes;
    this.floors = a.floors;
    this.providerTexts = a.providerTexts;
    this.providerSummary = a.providerSummary;
    this.envSummary = a.envSummary;
    this.groups = a.groups;
    this.truth = a.truth;
    this.spill = a.spill;
    this.tokenText = tokenText;
  }

  /**
   * The analysis of these runs, in a fixed order.
   *
   * @param providerTexts the token texts a provider's trace carries (ids are hashes of the texts)
   * @param provider what the provider's runs say beyond their tokens, or null for a local engine
   * @param envs each environment against its own reference, or null without an env axis
   * @param groups each varied mode axis's groups against their own references
   * @param truth every run against float64, or null without an fp64 point
   * @param spill the runs' drift, and the tokens and text of those that diverged or have an
   *     expected answer (at each result's {@code spilled})
   */
  static Analysis build(
      TraceHeader header,
      PointKey reference,
      Map<String, Reference> refs,
      List<RunResult> results,
      Analyzer.Options o,
      double temperature,
      List<String> torn,
      Map<Integer, String> providerTexts,
      ProviderSummary provider,
      EnvSummary envs,
      List<GroupSummary> groups,
      Truth truth,
      RunSpill spill) {
    // A fixed order: by point (as the trace lists axes), prompt, seed, repeat.
    List<RunResult> sorted = new ArrayList<>(results);
    sorted.sort(
        Comparator.comparing((RunResult r) -> r.point().key())
            .thenComparing(RunResult::promptId)
            .thenComparingLong(RunResult::seed)
            .thenComparingInt(RunResult::repeat));
    return new Analysis(
        header,
        reference,
        refs,
        sorted,
        o,
        temperature,
        torn,
        providerTexts,
        provider,
        envs,
        groups,
        truth,
        spill);
  }

  /**
   * This analysis with token ids decoded for the divergence contexts (the trace's model tokenizer);
   * without, they show as "#id". This one is left as it is.
   */
  public Analysis withTokenText(IntFunction<String> tokenText) {
    return new Analysis(this, tokenText);
  }

  /** A token's text: the provider's (its traces carry them), the tokenizer's, or "#id". */
  public String text(int id) {
    String t = providerTexts.get(id);
    if (t != null) {
      return t;
    }
    return tokenText == null ? "#" + id : tokenText.apply(id);
  }

  /**
   * Each mode axis the experiment varied (batch_invariant, env, engine, precision, kv_cache), its
   * values as groups with references of their own; empty when it varied none.
   */
  public List<GroupSummary> groups() {
    return groups;
  }

  /**
   * Accuracy per condition and agreement of answers, for prompts with an expected answer; null when
   * no prompt has one.
   */
  public Answers answers() {
    return Answers.of(this);
  }

  /** Every run against float64, or null when the experiment has no fp64 point. */
  public Truth truth() {
    return truth;
  }

  /** The reference point. */
  public PointKey referencePoint() {
    return reference;
  }

  /** Each environment against its own reference, or null when the spec has no env axis. */
  public EnvSummary environments() {
    return envSummary;
  }

  /**
   * What the provider's runs say beyond their tokens (fingerprints, within vs across), or null for
   * a local engine's trace.
   */
  public ProviderSummary provider() {
    return providerSummary;
  }

  // --- accessors -------------------------------------------------------------------------------

  public List<RunResult> runs() {
    return runs;
  }

  public TraceHeader header() {
    return header;
  }

  public PointKey reference() {
    return reference;
  }

  /** The noise floor of each point (runs there against their references). */
  public Map<PointKey, Stats.Estimate> pointFloors() {
    return floors.byPoint();
  }

  /** The noise floor of each axis, from points that differ from the reference in it alone. */
  public Map<String, Stats.Estimate> axisFloors() {
    return floors.byAxis();
  }

  /** The largest point floor (upper bound): what the experiment's conditions can move a logit. */
  public double experimentFloor() {
    return floors.experiment();
  }

  /**
   * What this analysis holds in the heap by design, in bytes: {whole reference records (within the
   * budget), the spills' heap (within {@link Analyzer#spillInHeap()} each)}; the rest grows with
   * the runs.
   */
  public long[] heapBudgets() {
    long whole = 0;
    long spills = spill.heapBytes();
    for (Reference r : refs.values()) {
      whole += r.wholeBytes();
    }
    if (!refs.isEmpty()) {
      spills += refs.values().iterator().next().store().heapBytes();
    }
    return new long[] {whole, spills};
  }

  /** Whether the runs' spill went to a temporary file. */
  boolean spilledToDisk() {
    return spill.onDisk();
  }

  /** A compared run's per-step drift against its reference (empty for others). */
  public float[] drift(RunResult r) {
    return r.comparison() == null || r.spilled() < 0 ? new float[0] : spill.drift(r.spilled());
  }

  /**
   * A run's tokens, kept for a divergent run and for one whose prompt has an expected answer.
   *
   * @throws IllegalStateException for another run (the analysis did not keep them)
   */
  public int[] runTokens(RunResult r) {
    int[] t = r.spilled() < 0 ? null : spill.tokens(r.spilled());
    if (t == null) {
      throw new IllegalStateException(
          r.id() + ": its tokens were not kept (neither diverged nor expected)");
    }
    return t;
  }

  /**
   * A run's text, kept for a divergent run and for one whose prompt has an expected answer.
   *
   * @throws IllegalStateException for another run (the analysis did not keep it)
   */
  public String runText(RunResult r) {
    String t = r.spilled() < 0 ? null : spill.text(r.spilled());
    if (t == null) {
      throw new IllegalStateException(
          r.id() + ": its text was not kept (neither diverged nor expected)");
    }
    return t;
  }

  /** The reference run a compared run was measured against. */
  public Reference referenceOf(RunResult r) {
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
   * Divergent runs by the axes their point changed against the reference (joined with "+", "no
   * axis" where none did), by axis text.
   */
  public Map<String, Long> divergedByAxes() {
    Map<String, Long> byAxis = new TreeMap<>();
    for (RunResult r : compared()) {
      if (!r.comparison().identical()) {
        List<String> ax = axes.differing(r);
        byAxis.merge(ax.isEmpty() ? "no axis" : String.join("+", ax), 1L, Long::sum);
      }
    }
    return byAxis;
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

  /** The reference runs in a fixed order (by prompt and seed). */
  List<Reference> sortedRefs() {
    return new TreeMap<>(refs).values().stream().toList();
  }

  // --- the computations analysis.json is written from ------------------------------------------

  Headline headline() {
    return Headline.of(this);
  }

  List<PointStats> points() {
    return PointStats.of(this);
  }

  List<AxisStats> axisStats() {
    return AxisStats.of(this);
  }

  List<PromptStats> prompts() {
    return PromptStats.of(this);
  }

  MarginTests tests() {
    return MarginTests.of(this);
  }

  /**
   * Recall of the model's planted micro-ties.
   *
   * @param reached micro-ties some reference run reached
   * @param flagged of those, how many the analysis marked at-risk (margin within twice a floor)
   * @param flipped of those, how many some run diverged at
   */
  public record MicroTieRecall(long reached, long flagged, long flipped) {}

  /** How many planted micro-ties the references reached, flagged at-risk and saw flipped. */
  public MicroTieRecall microTieRecall() {
    NearTies n = nearTies();
    long flipped =
        n.planted().stream()
            .filter(p -> p.kind().equals("micro") && p.flipsAtThisStep() > 0)
            .count();
    return new MicroTieRecall(n.microReached(), n.microFlagged(), flipped);
  }

  /** The planted tie a divergence sits at (same prompt, step and path), or null. */
  public String plantedAt(RunResult r) {
    Reference ref = referenceOf(r);
    for (Analyzer.PlantedTie t : options.nearTies()) {
      if (ref != null
          && r.comparison() != null
          && t.step() == r.comparison().divIndex()
          && t.reachedBy(ref)) {
        return t.id();
      }
    }
    return null;
  }

  NearTies nearTies() {
    return NearTies.of(this);
  }

  Agreement agreement() {
    return Agreement.of(this);
  }

  List<Divergence> divergences() {
    return Divergence.of(this);
  }
}
