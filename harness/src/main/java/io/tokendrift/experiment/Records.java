package io.tokendrift.experiment;

import io.tokendrift.decode.Completion;
import io.tokendrift.trace.RunRecord;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/** The trace records of a forward-pass group's runs: ok, failed with the error, or skipped. */
final class Records {
  private Records() {}

  /**
   * Hands {@code out} the records of an executed pass: its runs ok, or all failed with the error.
   */
  static void of(Plan.Pass b, BatchExecution x, Set<String> done, Consumer<RunRecord> out) {
    if (!x.ok()) {
      unfinished(b, done, out, x.millis(), RunRecord.Status.FAILED, x.error());
      return;
    }
    for (int row : x.recorders().keySet()) {
      out.accept(ok(b, row, x));
    }
  }

  /** A skipped record, with {@code reason}, for each run of {@code b} not yet in the trace. */
  static void skipped(Plan.Pass b, Set<String> done, Consumer<RunRecord> out, String reason) {
    unfinished(b, done, out, 0, RunRecord.Status.SKIPPED, reason);
  }

  /** A failed (or skipped) record for each run of {@code b} not in {@code done}. */
  static void unfinished(
      Plan.Pass b,
      Set<String> done,
      Consumer<RunRecord> out,
      double ms,
      RunRecord.Status status,
      String message) {
    for (Map.Entry<Integer, Plan.Run> e : b.runs().entrySet()) {
      if (!done.contains(e.getValue().id())) {
        out.accept(unfinished(e.getValue(), b, e.getKey(), ms, status, message));
      }
    }
  }

  /** The record of the run at {@code row} of a pass that completed. */
  static RunRecord ok(Plan.Pass b, int row, BatchExecution x) {
    Plan.Run run = b.runs().get(row);
    Completion c = x.completions().get(row);
    int[] tokens = c.tokens().stream().mapToInt(Integer::intValue).toArray();
    return RunRecord.of(run.id(), RunRecord.Status.OK)
        .prompt(run.prompt().id(), run.prompt().text())
        .at(run.point().values(), run.seed(), run.repeat())
        .output(c.stopReason().name(), c.text(), x.rowIds().get(row), tokens)
        .batch(x.millis(), b.rows().size(), row)
        .steps(x.recorders().get(row).steps())
        .build();
  }

  /** A run that produced no tokens: failed (with the error) or skipped (with the reason). */
  static RunRecord unfinished(
      Plan.Run run, Plan.Pass b, int row, double ms, RunRecord.Status status, String message) {
    return RunRecord.of(run.id(), status)
        .prompt(run.prompt().id(), run.prompt().text())
        .at(run.point().values(), run.seed(), run.repeat())
        .output(null, "", new int[0], new int[0])
        .batch(ms, b.rows().size(), row)
        .error(message)
        .build();
  }
}
