package io.tokendrift.experiment;

import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The one run loop, as JMH's runner drives its one list of actions through an embedded or a forked
 * executor: a shard's planned units (forward-pass groups, or waves of requests) in plan order, each
 * handed to the {@link Executor} of its kind of run, every record it answers written to the trace
 * (forced to disk) as it arrives. Resume (runs already in the trace are not owed), the tally,
 * progress, failure logging and {@code --fail-fast} live here and nowhere else.
 */
final class RunLoop {
  private RunLoop() {}

  /** One planned unit of work: the runs it records. */
  interface Unit {
    /** The ids of the runs it records, in record order. */
    List<String> runIds();

    /** How the log names it, e.g. {@code batch 12 (cpu)}. */
    String label();
  }

  /**
   * Executes units of one kind: in this process, in a forked child, or against an HTTP provider.
   * Every failure becomes a failed (or skipped) record, never an exception, so the loop goes on.
   */
  interface Executor<U extends Unit> extends AutoCloseable {
    /**
     * Runs the runs of {@code unit} not in {@code done} and hands each one's record to {@code out}
     * (ok, failed with the error and its causes, or skipped with the reason).
     *
     * @return whether it computed anything (false: it only recorded skips)
     */
    boolean execute(U unit, Set<String> done, Consumer<RunRecord> out);

    @Override
    void close();
  }

  /** Drives {@code units} through {@code x} into the session's trace. */
  static <U extends Unit> Runner.Outcome drive(
      List<U> units,
      Executor<U> x,
      TraceSession session,
      Runner.Options o,
      Runner.Progress progress,
      Consumer<String> log) {
    Set<String> done = session.done();
    int already = 0;
    int remaining = 0;
    for (U u : units) {
      for (String id : u.runIds()) {
        if (done.contains(id)) {
          already++;
        } else {
          remaining++;
        }
      }
    }
    progress.start(remaining, already);
    Tally tally = new Tally();
    long t0 = System.nanoTime();
    try (TraceWriter writer = session.writer();
        x) {
      for (U u : units) {
        if (u.runIds().stream().allMatch(done::contains)) {
          continue;
        }
        List<RunRecord> failed = new ArrayList<>();
        boolean computed =
            x.execute(
                u,
                done,
                r -> {
                  writer.write(r);
                  tally.add(r);
                  progress.advance(1);
                  if (r.status() == RunRecord.Status.FAILED) {
                    failed.add(r);
                  }
                });
        tally.units += computed ? 1 : 0;
        if (!failed.isEmpty()) {
          logFailures(u, failed, log);
          if (o.failFast()) {
            log.accept("--fail-fast: stopping after the first failure");
            break;
          }
        }
      }
    }
    return new Runner.Outcome(
        tally.ok,
        tally.failed,
        tally.skipped,
        already,
        session.truncated(),
        tally.steps,
        (System.nanoTime() - t0) / 1e9,
        tally.units);
  }

  /** One line per distinct error of a unit, with how many of its runs it failed. */
  private static void logFailures(Unit u, List<RunRecord> failed, Consumer<String> log) {
    Map<String, List<String>> byError = new LinkedHashMap<>();
    for (RunRecord r : failed) {
      byError.computeIfAbsent(r.error(), e -> new ArrayList<>()).add(r.id());
    }
    byError.forEach(
        (error, ids) ->
            log.accept(
                u.label()
                    + ": "
                    + (ids.size() == 1 ? "run " + ids.get(0) : ids.size() + " runs")
                    + " failed: "
                    + error));
  }

  /** Running counts of one drive. */
  private static final class Tally {
    int ok;
    int failed;
    int skipped;
    long steps;
    int units;

    void add(RunRecord r) {
      switch (r.status()) {
        case OK -> {
          ok++;
          steps += r.tokens().length;
        }
        case FAILED -> failed++;
        case SKIPPED -> skipped++;
      }
    }
  }
}
