package io.tokendrift.analysis;

import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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
  static long referenceBudget(int inMemory) {
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
    ReferenceSet refs = ReferenceSet.read(traces, inMemory); // pass 1
    Tally tally = new Tally(refs, refs.header, inMemory);
    // Pass 2: compare every run with its reference.
    List<String> torn = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Path p : traces) {
      try (TraceReader r = TraceReader.open(p)) {
        while (r.hasNext()) {
          RunRecord rec = r.next();
          if (counts(rec.id(), rec.status(), refs.completed, seen)) {
            tally.add(tally.contribute(rec));
          }
        }
        if (r.truncatedTail() != null) {
          torn.add(p + ":" + r.truncatedTail().line());
        }
      }
    }
    return tally.build(o, torn);
  }

  /**
   * Whether a record is counted: not a failed record of a run completed in some record ({@code
   * completed}: failed, then run again by --resume, the later record is the run), nor a second copy
   * of a run ({@code seen}: a duplicate across shards counts once).
   */
  static boolean counts(
      String id, RunRecord.Status status, Set<String> completed, Set<String> seen) {
    if (status == RunRecord.Status.FAILED && completed.contains(id)) {
      return false;
    }
    return seen.add(id);
  }

  /** Whether a provider's run was sent with fewer requests in flight than its point's. */
  static boolean lostConcurrency(RunRecord rec) {
    return rec.provider() != null && rec.provider().lostConcurrency(rec.batchRows());
  }

  /** Compares; the verdict for divergent runs is settled once the floors are known. */
  static RunResult first(RunRecord rec, RunRecord ref) {
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
