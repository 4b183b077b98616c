package io.tokendrift.trace;

import java.util.Map;

/**
 * One run: a prompt under one point, seed and repeat, as recorded.
 *
 * @param id stable run id (a hash of the run's definition)
 * @param status ok, failed (with {@code error}) or skipped (with {@code error} as the reason)
 * @param promptId the prompt's id in the spec
 * @param prompt the prompt text
 * @param point axis → value
 * @param seed sampling seed
 * @param repeat repeat number, from 0
 * @param stopReason why generation stopped (null unless ok)
 * @param text generated text
 * @param promptTokens the prompt's token ids
 * @param tokens generated token ids
 * @param elapsedMs wall-clock time of the run's batch, divided by nothing: the batch's time
 * @param batchRows rows in the forward pass that produced it
 * @param batchRow its row
 * @param error failure message or skip reason, else null
 * @param steps per-step recordings (empty unless ok)
 * @param provider what an HTTP provider said about the request (schema 2), or null
 * @param process the child process that ran it (specs varying {@code axes.env}), or null
 */
public record RunRecord(
    String id,
    Status status,
    String promptId,
    String prompt,
    Map<String, String> point,
    long seed,
    int repeat,
    String stopReason,
    String text,
    int[] promptTokens,
    int[] tokens,
    double elapsedMs,
    int batchRows,
    int batchRow,
    String error,
    Steps steps,
    ProviderCall provider,
    ProcessInfo process) {

  /** A run recorded by this process. */
  public RunRecord(
      String id,
      Status status,
      String promptId,
      String prompt,
      Map<String, String> point,
      long seed,
      int repeat,
      String stopReason,
      String text,
      int[] promptTokens,
      int[] tokens,
      double elapsedMs,
      int batchRows,
      int batchRow,
      String error,
      Steps steps,
      ProviderCall provider) {
    this(
        id,
        status,
        promptId,
        prompt,
        point,
        seed,
        repeat,
        stopReason,
        text,
        promptTokens,
        tokens,
        elapsedMs,
        batchRows,
        batchRow,
        error,
        steps,
        provider,
        null);
  }

  /** The same record, stamped with the child process that ran it. */
  public RunRecord withProcess(ProcessInfo p) {
    return new RunRecord(
        id,
        status,
        promptId,
        prompt,
        point,
        seed,
        repeat,
        stopReason,
        text,
        promptTokens,
        tokens,
        elapsedMs,
        batchRows,
        batchRow,
        error,
        steps,
        provider,
        p);
  }

  /** A run of a local engine. */
  public RunRecord(
      String id,
      Status status,
      String promptId,
      String prompt,
      Map<String, String> point,
      long seed,
      int repeat,
      String stopReason,
      String text,
      int[] promptTokens,
      int[] tokens,
      double elapsedMs,
      int batchRows,
      int batchRow,
      String error,
      Steps steps) {
    this(
        id,
        status,
        promptId,
        prompt,
        point,
        seed,
        repeat,
        stopReason,
        text,
        promptTokens,
        tokens,
        elapsedMs,
        batchRows,
        batchRow,
        error,
        steps,
        null);
  }

  /**
   * True for a provider run recorded without logprobs: its text is all there is (no tokens, no
   * steps), so it compares with its reference by text.
   */
  public boolean textOnly() {
    return provider != null && !provider.logprobs();
  }

  /** What happened to a run. */
  public enum Status {
    OK,
    FAILED,
    SKIPPED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
