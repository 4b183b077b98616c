package io.tokendrift.analysis;

import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * For an axis that sets a mode rather than a load ({@code batch_invariant}, {@code env}, {@code
 * engine}, {@code precision}, {@code kv_cache}): each of its values is a group with a reference of
 * its own — the run of the same prompt and seed at the reference point's other values, in that
 * group — and a verdict of its own. The main analysis compares every run with one reference (one
 * group), which answers "does anything differ from batch 1 in the default mode?"; this answers the
 * question such an axis is asked for: within one mode, do the other axes still change the bits?
 * Besides, with no reference at all, how many distinct logit sequences each prompt has within the
 * group (SGLang's "unique samples", at the level of the logits).
 */
public final class GroupSummary {
  /** The axes whose values are modes, in the order reports list them. */
  static final List<String> MODE_AXES =
      List.of("batch_invariant", "env", "engine", "precision", "kv_cache");

  /** What a group's runs did against the group's own reference. */
  public enum Verdict {
    /** Every compared run's recorded logits equal its group reference's, bit for bit. */
    BIT_IDENTICAL,
    /** Every compared run chose the same tokens; some logits differ in their bits. */
    SAME_TOKENS,
    /** Some run chose other tokens than its group reference. */
    DIVERGED,
    /** No run could be compared (no group reference, or only references). */
    NOT_COMPARED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * One value of the axis.
   *
   * @param value the value
   * @param runs its ok runs (its references included)
   * @param points distinct points among them
   * @param compared ok runs compared with their group reference (the references excluded)
   * @param sameTokens of those, runs whose tokens equal the reference's
   * @param bitIdentical of those, runs whose recorded logits are bit-identical at every step
   * @param maxDrift the largest |Δlogit| over aligned steps (NaN when none was compared)
   * @param prompts (prompt, seed) pairs with ok runs
   * @param distinctMin the fewest distinct logit sequences a pair had across the group's runs
   * @param distinctMax the most
   * @param stablePrompts pairs with one logit sequence across every run of the group
   */
  public record Value(
      String value,
      long runs,
      int points,
      long compared,
      long sameTokens,
      long bitIdentical,
      double maxDrift,
      int prompts,
      int distinctMin,
      int distinctMax,
      int stablePrompts) {

    /** This group's verdict against its own reference. */
    public Verdict verdict() {
      if (compared == 0) {
        return Verdict.NOT_COMPARED;
      }
      if (bitIdentical == compared) {
        return Verdict.BIT_IDENTICAL;
      }
      return sameTokens == compared ? Verdict.SAME_TOKENS : Verdict.DIVERGED;
    }
  }

  private final String axis;
  private final Map<String, String> others; // the reference point without this axis
  private final Map<String, Reference> refs = new HashMap<>();
  private final Reference.LastRead lastRead = new Reference.LastRead();
  private final Map<String, Acc> byValue = new LinkedHashMap<>();

  private static final class Acc {
    long runs;
    final Set<String> points = new HashSet<>();
    long compared;
    long same;
    long bit;
    double maxDrift = Double.NaN;
    final Map<String, Set<Long>> sequences = new TreeMap<>();
  }

  GroupSummary(String axis, PointKey reference) {
    this.axis = axis;
    Map<String, String> o = new TreeMap<>(reference.values());
    o.remove(axis);
    this.others = o;
  }

  /**
   * A summary per mode axis the reference point names, in {@link #MODE_AXES}' order, then per axis
   * of {@code more} (a spec's {@code compare_within:}).
   */
  static Map<String, GroupSummary> of(PointKey reference, List<String> more) {
    Map<String, GroupSummary> out = new LinkedHashMap<>();
    List<String> axes = new java.util.ArrayList<>(MODE_AXES);
    more.stream().filter(a -> !axes.contains(a)).forEach(axes::add);
    for (String a : axes) {
      if (reference.values().containsKey(a)) {
        out.put(a, new GroupSummary(a, reference));
      }
    }
    return out;
  }

  /** The axis. */
  public String axis() {
    return axis;
  }

  /** The reference point's values but this axis: the runs whose steps pass 1 must keep. */
  Map<String, String> others() {
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

  private String key(RunRecord r) {
    return r.point().get(axis) + "\u0000" + r.promptId() + "\u0000" + r.seed();
  }

  /**
   * Pass 1: keeps each group's reference runs (ok, repeat 0), set aside by {@code aside} (which
   * gives the run's one {@link Reference}, shared with the experiment's own when it is that too).
   */
  void offerReference(RunRecord r, java.util.function.Function<RunRecord, Reference> aside) {
    if (r.status() == RunRecord.Status.OK
        && r.repeat() == 0
        && r.point().containsKey(axis)
        && atReference(r)
        && !refs.containsKey(key(r))) {
      refs.put(key(r), aside.apply(r));
    }
  }

  /**
   * What one run brings to this axis's groups: its value, point, (prompt, seed) pair and logit
   * sequence, and, when it was compared with its group's reference, the outcome.
   *
   * @param compared whether it was compared with its group reference
   * @param same the tokens equal the reference's
   * @param bit the recorded logits are also bit-identical
   * @param maxDrift the comparison's largest |Δlogit| (NaN when none)
   */
  record Seen(
      String value,
      String point,
      String pair,
      long sequence,
      boolean compared,
      boolean same,
      boolean bit,
      double maxDrift) {}

  /**
   * Pass 2: what an ok run brings to its group, compared with its group's reference ({@code known},
   * when given, is a reference record already read back: used when it is that one); null for a run
   * no group counts.
   */
  Seen seen(RunRecord r, RunRecord known) {
    String value = r.point().get(axis);
    if (value == null || r.status() != RunRecord.Status.OK || Analyzer.lostConcurrency(r)) {
      return null;
    }
    String point = PointKey.keyOf(r.point());
    String pair = r.promptId() + "\u0000" + r.seed();
    long sequence = sequence(r);
    Reference entry = refs.get(key(r));
    if (entry == null || entry.id().equals(r.id())) {
      return new Seen(value, point, pair, sequence, false, false, false, Double.NaN);
    }
    RunRecord ref = known != null && known.id().equals(entry.id()) ? known : lastRead.of(entry);
    Comparison c =
        r.textOnly() || ref.textOnly() ? Comparison.ofText(ref, r) : Comparison.of(ref, r);
    return new Seen(
        value,
        point,
        pair,
        sequence,
        true,
        c.identical(),
        c.identical() && sameBits(ref, r, c),
        c.maxDrift());
  }

  /** Pass 2 (or a combine): counts what a run brought, in the order the runs come. */
  void add(Seen s) {
    if (s == null) {
      return;
    }
    Acc a = byValue.computeIfAbsent(s.value(), k -> new Acc());
    a.runs++;
    a.points.add(s.point());
    a.sequences.computeIfAbsent(s.pair(), k -> new HashSet<>()).add(s.sequence());
    if (!s.compared()) {
      return;
    }
    a.compared++;
    if (s.same()) {
      a.same++;
      if (s.bit()) {
        a.bit++;
      }
    }
    if (!Double.isNaN(s.maxDrift())) {
      a.maxDrift = Double.isNaN(a.maxDrift) ? s.maxDrift() : Math.max(a.maxDrift, s.maxDrift());
    }
  }

  /** After pass 2: the last reference read back is not kept. */
  void endPass() {
    lastRead.clear();
  }

  /**
   * Whether two runs with the same tokens computed the same logits: the digests of every step's
   * whole logit vector equal (a provider's steps, which carry none, by equal logprobs); never for a
   * run recorded as text only, which has no logits to compare.
   */
  static boolean sameBits(RunRecord ref, RunRecord r, Comparison c) {
    if (r.textOnly() || ref.textOnly() || r.steps() == null || ref.steps() == null) {
      return false;
    }
    Steps a = ref.steps();
    Steps b = r.steps();
    if (a.size() != b.size() || a.size() == 0) {
      return false;
    }
    boolean digests = false;
    for (int i = 0; i < a.size(); i++) {
      if (a.digest(i) != b.digest(i)) {
        return false;
      }
      digests |= a.digest(i) != 0;
    }
    return digests || c.maxDrift() == 0;
  }

  /**
   * A run's logit sequence as one number: its tokens and, per step, the digest of the whole logit
   * vector (a provider's runs, which carry no digest, by their logprobs' bits). Two runs with the
   * same number computed the same logits at every step (up to a 64-bit collision).
   */
  static long sequence(RunRecord r) {
    long h = 1125899906842597L;
    for (int t : r.tokens()) {
      h = 31 * h + t;
    }
    Steps s = r.steps();
    if (s == null || s.size() == 0 || r.textOnly()) {
      return 31 * h + r.text().hashCode(); // no logits recorded: the text is all there is
    }
    for (int i = 0; i < s.size(); i++) {
      long d = s.digest(i);
      if (d == 0) {
        d = Float.floatToIntBits(s.chosenLogit(i));
        for (int j = 0; j < s.k(); j++) {
          d = 31 * d + Float.floatToIntBits(s.topLogit(i, j));
        }
      }
      h = 31 * h + d;
    }
    return h;
  }

  /** One entry per value, in the order their runs first appear (the spec's order). */
  public List<Value> values() {
    return byValue.entrySet().stream()
        .map(
            e -> {
              Acc a = e.getValue();
              int min = Integer.MAX_VALUE;
              int max = 0;
              int stable = 0;
              for (Set<Long> seqs : a.sequences.values()) {
                min = Math.min(min, seqs.size());
                max = Math.max(max, seqs.size());
                stable += seqs.size() == 1 ? 1 : 0;
              }
              return new Value(
                  e.getKey(),
                  a.runs,
                  a.points.size(),
                  a.compared,
                  a.same,
                  a.bit,
                  a.maxDrift,
                  a.sequences.size(),
                  a.sequences.isEmpty() ? 0 : min,
                  max,
                  stable);
            })
        .toList();
  }

  /** Whether the experiment varied this axis (two or more values have runs). */
  public boolean varied() {
    return byValue.size() > 1;
  }

  /** The reference's other values, as the report states them. */
  public String otherValues() {
    return PointKey.keyOf(others);
  }
}
