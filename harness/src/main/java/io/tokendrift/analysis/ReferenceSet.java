package io.tokendrift.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * An analysis's first pass: the headers agree, and every run another is compared with is kept — the
 * experiment's references (ok, repeat 0, at the reference point; the first of each prompt and
 * seed), each mode axis's group references and the float64 runs. The traces read may be whole
 * traces or their {@linkplain #isCandidate reference extracts}: the same references either way.
 */
final class ReferenceSet {
  final TraceHeader header;
  final PointKey reference;
  final Map<String, Reference> refs = new HashMap<>();
  final RunSpill refStore; // the references' records, read in pass 2
  final Map<Integer, String> providerTexts = new HashMap<>();

  /**
   * Runs that completed in some record read: a failed record of theirs was retried (resume), and
   * the run is its completed record.
   */
  final Set<String> completed = new HashSet<>();

  final Map<String, GroupSummary> groups;
  final Truth truth;
  final EnvSummary envs;

  private ReferenceSet(TraceHeader header, int inMemory) {
    this.header = header;
    this.reference = PointKey.parse(header.reference());
    this.groups = GroupSummary.of(reference, header.compareWithin());
    this.truth = Truth.of(reference);
    this.envs = EnvSummary.of(groups.get("env"));
    this.refStore = new RunSpill(inMemory);
  }

  /** Reads {@code traces} (one experiment's), keeping the references. */
  static ReferenceSet read(List<Path> traces, int inMemory) {
    if (traces.isEmpty()) {
      throw new IllegalArgumentException("analyze needs at least one trace");
    }
    ReferenceSet s = null;
    long[] refBudget = {Analyzer.referenceBudget(inMemory)}; // whole records in the heap, bytes
    for (Path p : traces) {
      try (TraceReader r = TraceReader.open(p)) {
        TraceHeader h = r.header();
        if (s == null) {
          s = new ReferenceSet(h, inMemory);
        }
        Map<String, String> refValues = s.valuesBut(s.groups.keySet());
        // Each mode axis's groups have references of their own: they keep their steps too.
        r.decodeStepsOnly(n -> okFirstRepeat(n) && matches(n, refValues));
        if (!h.specSha256().equals(s.header.specSha256())) {
          throw new IllegalArgumentException(
              p + ": recorded by a different spec than " + traces.get(0) + "; analyse them apart");
        }
        while (r.hasNext()) {
          s.offer(r.next(), refBudget);
        }
      }
    }
    s.refStore.finish();
    return s;
  }

  private void offer(RunRecord rec, long[] refBudget) {
    if (rec.status() != RunRecord.Status.FAILED) {
      completed.add(rec.id());
    }
    // One Reference per record, whoever takes it as theirs.
    Reference[] made = {null};
    java.util.function.Function<RunRecord, Reference> aside =
        x -> made[0] != null ? made[0] : (made[0] = Reference.of(x, refStore, refBudget));
    if (rec.status() == RunRecord.Status.OK
        && rec.repeat() == 0
        && !Analyzer.lostConcurrency(rec)
        && PointKey.of(rec.point()).equals(reference)) {
      String key = Analyzer.refKey(rec.promptId(), rec.seed());
      if (!refs.containsKey(key)) {
        refs.put(key, aside.apply(rec));
        providerTexts(rec, providerTexts);
      }
    }
    for (GroupSummary g : groups.values()) {
      g.offerReference(rec, aside);
    }
    if (truth != null) {
      truth.offerReference(rec);
    }
  }

  /** The reference point's values without {@code axes}. */
  private Map<String, String> valuesBut(Set<String> axes) {
    Map<String, String> m = new TreeMap<>(reference.values());
    axes.forEach(m::remove);
    return m;
  }

  /**
   * Whether a raw run line of a trace with this header may be a reference of any kind (the
   * experiment's, a mode axis group's, float64's): ok, repeat 0, and at the reference point but for
   * the mode axes, precision and device. An extract of these lines, in the trace's order, gives the
   * references the whole trace gives.
   */
  static java.util.function.Predicate<JsonNode> isCandidate(TraceHeader h) {
    PointKey reference = PointKey.parse(h.reference());
    Set<String> free = new HashSet<>(GroupSummary.of(reference, h.compareWithin()).keySet());
    free.add(Truth.AXIS);
    free.add("device");
    Map<String, String> values = new TreeMap<>(reference.values());
    free.forEach(values::remove);
    return n -> okFirstRepeat(n) && matches(n, values);
  }

  private static boolean okFirstRepeat(JsonNode n) {
    return n.path("repeat").asInt(-1) == 0 && "ok".equals(n.path("status").asText());
  }

  private static boolean matches(JsonNode n, Map<String, String> values) {
    JsonNode pt = n.path("point");
    for (Map.Entry<String, String> e : values.entrySet()) {
      if (!e.getValue().equals(pt.path(e.getKey()).asText())) {
        return false;
      }
    }
    return true;
  }

  /**
   * A provider's token texts by id, from a reference run's steps (chosen tokens and their
   * alternatives), into {@code m}: what the reports show where a local model's tokenizer would
   * decode.
   */
  private static void providerTexts(RunRecord r, Map<Integer, String> m) {
    var s = r.steps();
    if (s == null || !s.hasTexts()) {
      return;
    }
    for (int i = 0; i < s.size(); i++) {
      if (s.text(i) != null) {
        m.putIfAbsent(r.tokens()[i], s.text(i));
      }
      for (int j = 0; j < s.k(); j++) {
        if (s.topId(i, j) >= 0 && s.topText(i, j) != null) {
          m.putIfAbsent(s.topId(i, j), s.topText(i, j));
        }
      }
    }
  }
}
