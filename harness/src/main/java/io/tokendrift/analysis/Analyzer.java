package io.tokendrift.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads traces and compares every run with its reference: the run of the same prompt and seed at
 * the experiment's reference point (repeat 0). Two streaming passes: the first keeps only the
 * reference runs whole, the second compares each run as it is read and keeps a small result.
 */
public final class Analyzer {
  /**
   * Analysis settings.
   *
   * @param floorQuantile which quantile of per-step |Δlogit| is a condition's noise floor
   * @param nearTie a step whose top-1/top-2 margin is at most this (nats) is a near-tie
   * @param resamples bootstrap resamples for the floor's interval
   * @param nearTies planted near-ties to look for (the bundled model's), or empty
   */
  public record Options(
      double floorQuantile, double nearTie, int resamples, List<PlantedTie> nearTies) {
    /** 99th percentile, ln 2 (top-2 at least half as likely as top-1), 1,000 resamples. */
    public static Options defaults(List<PlantedTie> ties) {
      return new Options(0.99, Math.log(2), 1000, ties);
    }
  }

  /**
   * A planted near-tie of the model: reached from {@code prefix} (a prompt) after generating {@code
   * path}, at generated step {@code step} (0 for the corpus's near-ties, which sit right after
   * their prompt).
   *
   * @param kind "50/50", "70/30", "90/10", or "micro" for a planted micro-tie
   */
  public record PlantedTie(String id, String prefix, String kind, int step, int[] path) {
    /** A near-tie right after its prompt. */
    public PlantedTie(String id, String prefix, String kind) {
      this(id, prefix, kind, 0, new int[0]);
    }

    /** True for a micro-tie (margin between 1e-7 and 1e-4 nats). */
    public boolean micro() {
      return kind.equals("micro");
    }

    /** Whether {@code ref} reaches this point: the right prompt, and its path before the step. */
    boolean reachedBy(Reference ref) {
      if (!ref.prompt().equals(prefix) || ref.size() <= step) {
        return false;
      }
      int[] t = ref.tokens();
      return t.length >= path.length
          && java.util.Arrays.equals(java.util.Arrays.copyOf(t, path.length), path);
    }
  }

  /** Why a run is where it is. */
  public enum Verdict {
    REFERENCE,
    IDENTICAL,
    EXPLAINED,
    UNEXPLAINED,
    NO_REFERENCE,
    FAILED,
    SKIPPED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * One run's outcome: small, and the same size whatever the run's length (what the analysis reads
   * again about the run is in its {@link RunSpill} entry, at {@code spilled}).
   *
   * @param prompt the prompt's text (one instance per prompt)
   * @param comparison against its reference (null for the reference itself, failed or skipped
   *     runs); its per-step drift is read with {@link Analysis#drift(RunResult)}
   * @param threshold margin below which a divergence counts as explained (2 × the floor's upper
   *     bound; sampled steps follow the same rule in logit units, see {@link FlipRule})
   * @param spilled offset of the run's entry in the analysis's spill, or -1 when it has none
   */
  public record RunResult(
      String id,
      String promptId,
      String prompt,
      long seed,
      int repeat,
      PointKey point,
      RunRecord.Status status,
      int length,
      long tokensHash,
      Comparison comparison,
      Verdict verdict,
      double threshold,
      boolean sampled,
      long spilled) {

    static RunResult of(
        RunRecord rec,
        PointKey point,
        boolean sampled,
        Comparison comparison,
        Verdict verdict,
        double threshold) {
      return new RunResult(
          rec.id(),
          rec.promptId(),
          rec.prompt(),
          rec.seed(),
          rec.repeat(),
          point,
          rec.status(),
          rec.tokens().length,
          // A provider's runs compare as texts (some are recorded without tokens).
          rec.provider() != null ? rec.text().hashCode() : java.util.Arrays.hashCode(rec.tokens()),
          comparison,
          verdict,
          threshold,
          sampled,
          -1);
    }

    /** The same run with its verdict settled. */
    RunResult settled(Verdict v, double threshold) {
      return new RunResult(
          id,
          promptId,
          prompt,
          seed,
          repeat,
          point,
          status,
          length,
          tokensHash,
          comparison,
          v,
          threshold,
          sampled,
          spilled);
    }

    /**
     * The same run kept small: its prompt and point the shared instances, its drift moved to the
     * spill entry at {@code at}.
     */
    RunResult kept(String promptId, String prompt, PointKey point, long at) {
      return new RunResult(
          id,
          promptId,
          prompt,
          seed,
          repeat,
          point,
          status,
          length,
          tokensHash,
          comparison == null ? null : comparison.withoutDrift(),
          verdict,
          threshold,
          sampled,
          at);
    }
  }

  /**
   * Bytes each of an analysis's two spills keeps in the heap before it moves to a file: 16 MB, or a
   * sixteenth of the largest heap this JVM may use when that is less.
   */
  public static int spillInHeap() {
    return (int) Math.min(RunSpill.IN_MEMORY, Runtime.getRuntime().maxMemory() / 16);
  }

  /**
   * Bytes of reference records an analysis keeps whole in the heap (past them, set aside in a
   * spill): four times {@link #spillInHeap()}, 64 MB or a quarter of the largest heap.
   */
  public static long referenceBudget() {
    return referenceBudget(spillInHeap());
  }

  /** The whole references' budget beside spills of {@code inMemory} bytes: four times theirs. */
  private static long referenceBudget(int inMemory) {
    return 4L * inMemory;
  }

  private Analyzer() {}

  static String refKey(String promptId, long seed) {
    return promptId + "\u0000" + seed;
  }

  /** Reads and analyses the traces of one experiment (shards may be given separately). */
  public static Analysis analyze(List<Path> traces, Options o) {
    return analyze(traces, o, spillInHeap());
  }

  /** The same, with the runs' spill moving to a file past {@code inMemory} bytes. */
  static Analysis analyze(List<Path> traces, Options o, int inMemory) {
    if (traces.isEmpty()) {
      throw new IllegalArgumentException("analyze needs at least one trace");
    }
    TraceHeader header = null;
    Map<String, Reference> refs = new HashMap<>();
    RunSpill refStore = new RunSpill(inMemory); // the references' records, read in pass 2
    long[] refBudget = {referenceBudget(inMemory)}; // whole reference records in the heap, bytes
    Map<Integer, String> providerTexts = new HashMap<>();
    PointKey reference = null;
    // Runs that completed in some record: a failed record of theirs was retried (resume), and
    // the run is its completed record.
    java.util.Set<String> completed = new java.util.HashSet<>();
    EnvSummary envs = null;
    Map<String, GroupSummary> groups = Map.of();
    Truth truth = null;
    // Pass 1: the headers agree; keep the reference runs whole.
    for (Path p : traces) {
      try (TraceReader r = TraceReader.open(p)) {
        TraceHeader h = r.header();
        if (header == null) {
          header = h;
          reference = PointKey.parse(h.reference());
          groups = GroupSummary.of(reference, h.compareWithin());
          truth = Truth.of(reference);
          envs = EnvSummary.of(groups.get("env"));
        }
        // Each mode axis's groups have references of their own: they keep their steps too.
        Map<String, String> refValues = new java.util.TreeMap<>(reference.values());
        groups.keySet().forEach(refValues::remove);
        r.decodeStepsOnly(n -> isReference(n, refValues));
        if (!h.specSha256().equals(header.specSha256())) {
          throw new IllegalArgumentException(
              p + ": recorded by a different spec than " + traces.get(0) + "; analyse them apart");
        }
        while (r.hasNext()) {
          RunRecord rec = r.next();
          if (rec.status() != RunRecord.Status.FAILED) {
            completed.add(rec.id());
          }
          // One Reference per record, whoever takes it as theirs.
          Reference[] made = {null};
          java.util.function.Function<RunRecord, Reference> aside =
              x -> made[0] != null ? made[0] : (made[0] = Reference.of(x, refStore, refBudget));
          if (rec.status() == RunRecord.Status.OK
              && rec.repeat() == 0
              && !lostConcurrency(rec)
              && PointKey.of(rec.point()).equals(reference)) {
            String key = refKey(rec.promptId(), rec.seed());
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
      }
    }
    refStore.finish();
    // Pass 2: compare every run with its reference.
    List<RunResult> results = new ArrayList<>();
    List<String> torn = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    double temperature = Double.parseDouble(header.decoding().getOrDefault("temperature", "0"));
    ProviderSummary provider = null;
    RunSpill spill = new RunSpill(inMemory);
    Map<PointKey, PointKey> points = new HashMap<>();
    Map<String, String> prompts = new HashMap<>(); // one instance of each id and text
    Reference.LastRead lastRead = new Reference.LastRead();
    java.util.Set<String> expected = header.expectations().keySet();
    for (Path p : traces) {
      try (TraceReader r = TraceReader.open(p)) {
        while (r.hasNext()) {
          RunRecord rec = r.next();
          if (rec.status() == RunRecord.Status.FAILED && completed.contains(rec.id())) {
            continue; // failed, then run again by --resume: the later record is the run
          }
          if (!seen.add(rec.id())) {
            continue; // a duplicate across shards counts once
          }
          Reference entry = refs.get(refKey(rec.promptId(), rec.seed()));
          // The whole reference (its top-K) only where a comparison reads it; the last one kept.
          RunRecord ref = null;
          if (entry != null) {
            boolean compares =
                rec.status() == RunRecord.Status.OK
                    && !lostConcurrency(rec)
                    && !entry.id().equals(rec.id());
            ref = compares ? lastRead.of(entry) : entry.light();
          }
          RunResult result = first(rec, ref, reference);
          results.add(kept(result, rec, spill, points, prompts, expected));
          if (envs != null) {
            envs.add(rec);
          }
          for (GroupSummary g : groups.values()) {
            g.add(rec, ref != null && ref.steps() != null ? ref : null);
          }
          if (truth != null && truth.present()) {
            truth.add(
                rec,
                ref,
                result.comparison() == null ? -1 : result.comparison().divIndex(),
                result.verdict() == Verdict.REFERENCE);
          }
          if (rec.provider() != null) {
            if (provider == null) {
              provider = new ProviderSummary();
            }
            provider.add(rec, ref, result);
          }
        }
        if (r.truncatedTail() != null) {
          torn.add(p + ":" + r.truncatedTail().line());
        }
      }
    }
    spill.finish();
    groups.values().forEach(GroupSummary::endPass);
    return Analysis.build(
        header,
        reference,
        refs,
        results,
        o,
        temperature,
        torn,
        providerTexts,
        provider,
        envs,
        groups.values().stream().filter(GroupSummary::varied).toList(),
        truth != null && truth.present() ? truth : null,
        spill);
  }

  /**
   * The result as the analysis keeps it: shared prompt and point instances, and in the spill its
   * drift (when compared) and its tokens and text (when it diverged, or its prompt has an expected
   * answer): what the floors, the divergence list and the answers read again.
   */
  private static RunResult kept(
      RunResult r,
      RunRecord rec,
      RunSpill spill,
      Map<PointKey, PointKey> points,
      Map<String, String> prompts,
      java.util.Set<String> expected) {
    PointKey point = points.computeIfAbsent(r.point(), k -> k);
    String promptId = prompts.computeIfAbsent(r.promptId(), k -> k);
    String prompt = prompts.computeIfAbsent(promptId + "\u0000" + r.prompt(), k -> r.prompt());
    Comparison c = r.comparison();
    boolean words =
        (c != null && !c.identical())
            || (rec.status() == RunRecord.Status.OK && expected.contains(promptId));
    long at = -1;
    if (c != null || words) {
      at =
          spill.put(
              c == null ? null : c.perStepDrift(),
              words ? rec.tokens() : null,
              words ? rec.text() : null);
    }
    return r.kept(promptId, prompt, point, at);
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

  /** Whether a raw run line is an ok repeat-0 run at the reference point (its steps are kept). */
  private static boolean isReference(JsonNode n, Map<String, String> refValues) {
    if (n.path("repeat").asInt(-1) != 0 || !"ok".equals(n.path("status").asText())) {
      return false;
    }
    JsonNode pt = n.path("point");
    for (Map.Entry<String, String> e : refValues.entrySet()) {
      if (!e.getValue().equals(pt.path(e.getKey()).asText())) {
        return false;
      }
    }
    return true;
  }

  /** Whether a provider's run was sent with fewer requests in flight than its point's. */
  static boolean lostConcurrency(RunRecord rec) {
    return rec.provider() != null && rec.provider().lostConcurrency(rec.batchRows());
  }

  /** Compares; the verdict for divergent runs is settled once the floors are known. */
  private static RunResult first(RunRecord rec, RunRecord ref, PointKey reference) {
    PointKey point = PointKey.of(rec.point());
    boolean sampled = false;
    if (rec.status() == RunRecord.Status.OK) {
      // A sampled step records its draw margin (Gumbel draws record no uniform, so the margin,
      // not the draw, tells sampled from greedy).
      for (int i = 0; i < rec.steps().size() && !sampled; i++) {
        sampled = !Float.isNaN(rec.steps().drawMargin(i));
      }
    }
    if (rec.status() != RunRecord.Status.OK) {
      Verdict v = rec.status() == RunRecord.Status.FAILED ? Verdict.FAILED : Verdict.SKIPPED;
      return RunResult.of(rec, point, sampled, null, v, Double.NaN);
    }
    if (lostConcurrency(rec)) {
      // Its retry was sent after its wave's company had gone: a run of a lower concurrency than
      // its point says, so it cannot speak for that point (the provider summary counts it).
      return RunResult.of(rec, point, sampled, null, Verdict.SKIPPED, Double.NaN);
    }
    if (ref == null) {
      return RunResult.of(rec, point, sampled, null, Verdict.NO_REFERENCE, Double.NaN);
    }
    if (ref.id().equals(rec.id())) {
      return RunResult.of(rec, point, sampled, null, Verdict.REFERENCE, Double.NaN);
    }
    Comparison c =
        rec.textOnly() || ref.textOnly() ? Comparison.ofText(ref, rec) : Comparison.of(ref, rec);
    return RunResult.of(
        rec, point, sampled, c, c.identical() ? Verdict.IDENTICAL : null, Double.NaN);
  }
}
