package io.tokendrift.experiment;

import io.tokendrift.decode.Completion;
import io.tokendrift.trace.RunRecord;

/** The runner's last stage: the trace records of a batch's runs. */
final class Records {
  private Records() {}

  /** The record of the run at {@code row} of a batch that completed. */
  static RunRecord ok(Plan.Batch b, int row, BatchExecution x) {
    Plan.Run run = b.runs().get(row);
    Completion c = x.completions().get(row);
    int[] tokens = c.tokens().stream().mapToInt(Integer::intValue).toArray();
    return new RunRecord(
        run.id(),
        RunRecord.Status.OK,
        run.prompt().id(),
        run.prompt().text(),
        run.point().values(),
        run.seed(),
        run.repeat(),
        c.stopReason().name(),
        c.text(),
        x.rowIds().get(row),
        tokens,
        x.millis(),
        b.rows().size(),
        row,
        null,
        x.recorders().get(row).steps());
  }

  /** A run that produced no tokens: failed (with the error) or skipped (with the reason). */
  static RunRecord unfinished(
      Plan.Run run, Plan.Batch b, int row, double ms, RunRecord.Status status, String message) {
    return new RunRecord(
        run.id(),
        status,
        run.prompt().id(),
        run.prompt().text(),
        run.point().values(),
        run.seed(),
        run.repeat(),
        null,
        "",
        new int[0],
        new int[0],
        ms,
        b.rows().size(),
        row,
        message,
        null);
  }
}
