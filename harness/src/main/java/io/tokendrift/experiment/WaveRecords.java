package io.tokendrift.experiment;

import io.tokendrift.engine.RemoteReply;
import io.tokendrift.engine.RemoteToken;
import io.tokendrift.trace.ProviderCall;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import java.util.ArrayList;
import java.util.List;

/**
 * A wave's replies as trace records: each run's record from its reply, and how many of its wave
 * were really in flight with it.
 */
final class WaveRecords {
  private WaveRecords() {}

  /**
   * For each request of a wave, the most of the wave's requests (itself included) whose last
   * attempts were in flight at one moment of its own last attempt: the concurrency it was really
   * sent at. A request retried after the others had their answers ran alone. Requests whose times
   * are unknown (failed before sending) count as not in flight; -1 for one whose own times are
   * unknown.
   */
  static int[] inFlight(List<RemoteReply> wave) {
    int[] n = new int[wave.size()];
    for (int i = 0; i < n.length; i++) {
      RemoteReply a = wave.get(i);
      if (a.sentNanos() == 0) {
        n[i] = -1;
        continue;
      }
      // The count only rises when a request starts: the peak is at the run's own start or at
      // another's start within its attempt.
      List<Long> moments = new ArrayList<>();
      moments.add(a.sentNanos());
      for (RemoteReply b : wave) {
        if (b.sentNanos() > a.sentNanos() && b.sentNanos() <= a.doneNanos()) {
          moments.add(b.sentNanos());
        }
      }
      for (long t : moments) {
        int at = 0;
        for (RemoteReply b : wave) {
          if (b.sentNanos() != 0 && b.sentNanos() <= t && t <= b.doneNanos()) {
            at++;
          }
        }
        n[i] = Math.max(n[i], at);
      }
    }
    return n;
  }

  /** The trace record of one run from its reply. */
  static RunRecord record(
      ProviderPlan.Run run, ProviderPlan.Wave w, int slot, RemoteReply r, int inFlight) {
    boolean lp = w.point().logprobs();
    List<ProviderCall.Retry> retries =
        r.retries().stream()
            .map(t -> new ProviderCall.Retry(t.status(), t.kind(), t.reason(), t.waitMs()))
            .toList();
    ProviderCall call =
        new ProviderCall(
            r.responseId(),
            r.model(),
            r.systemFingerprint(),
            r.finishReason(),
            r.promptTokens(),
            r.completionTokens(),
            r.cachedTokens(),
            r.latencyMs(),
            r.httpStatus(),
            r.attempts(),
            lp,
            retries,
            inFlight);
    if (!r.ok()) {
      return RunRecord.of(run.id(), RunRecord.Status.FAILED)
          .prompt(run.prompt().id(), run.prompt().text())
          .at(run.point().values(), run.seed(), run.repeat())
          .output(null, "", new int[0], new int[0])
          .batch(r.latencyMs(), w.concurrency(), slot)
          .error(r.error())
          .provider(call)
          .build();
    }
    int[] tokens = new int[0];
    Steps steps = new Steps(1, false);
    if (lp && r.tokens() != null) {
      int k = 1;
      for (RemoteToken t : r.tokens()) {
        k = Math.max(k, t.topTexts().size());
      }
      steps = new Steps(k, false);
      tokens = new int[r.tokens().size()];
      for (int i = 0; i < tokens.length; i++) {
        RemoteToken t = r.tokens().get(i);
        tokens[i] = RemoteToken.idOf(t.text());
        int[] ids = new int[t.topTexts().size()];
        float[] values = new float[ids.length];
        for (int j = 0; j < ids.length; j++) {
          ids[j] = RemoteToken.idOf(t.topTexts().get(j));
          values[j] = (float) t.topLogprobs()[j];
        }
        steps.addText(
            (float) t.logprob(),
            ids,
            values,
            t.text(),
            t.bytes(),
            t.topTexts().toArray(new String[0]));
      }
    }
    return RunRecord.of(run.id(), RunRecord.Status.OK)
        .prompt(run.prompt().id(), run.prompt().text())
        .at(run.point().values(), run.seed(), run.repeat())
        .output(stopReason(r.finishReason()), r.text(), new int[0], tokens)
        .batch(r.latencyMs(), w.concurrency(), slot)
        .steps(steps)
        .provider(call)
        .build();
  }

  /** The provider's finish_reason in the trace's terms: length → MAX_TOKENS, stop → STOP. */
  static String stopReason(String finish) {
    if (finish == null) {
      return "UNKNOWN";
    }
    return switch (finish) {
      case "length" -> "MAX_TOKENS";
      case "stop" -> "STOP"; // end of sequence or a stop sequence: the API does not say which
      default -> finish.toUpperCase(java.util.Locale.ROOT);
    };
  }
}
