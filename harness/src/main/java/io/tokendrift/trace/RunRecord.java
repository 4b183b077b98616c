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

  /** The same record with other per-step columns ({@code null}: none). */
  public RunRecord withSteps(Steps s) {
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
        s,
        provider,
        process);
  }

  /**
   * True for a provider run recorded without logprobs: its text is all there is (no tokens, no
   * steps), so it compares with its reference by text.
   */
  public boolean textOnly() {
    return provider != null && !provider.logprobs();
  }

  /** A record built by name: {@code RunRecord.of(id, status).prompt(...).point(...)...build()}. */
  public static Builder of(String id, Status status) {
    return new Builder(id, status);
  }

  /**
   * A run record by name instead of 18 positions; what is not set is empty (no text, no tokens, no
   * steps, no error, no provider call, this process).
   */
  public static final class Builder {
    private final String id;
    private final Status status;
    private String promptId;
    private String prompt;
    private Map<String, String> point;
    private long seed;
    private int repeat;
    private String stopReason;
    private String text = "";
    private int[] promptTokens = new int[0];
    private int[] tokens = new int[0];
    private double elapsedMs;
    private int batchRows;
    private int batchRow;
    private String error;
    private Steps steps;
    private ProviderCall provider;
    private ProcessInfo process;

    private Builder(String id, Status status) {
      this.id = id;
      this.status = status;
    }

    /** The prompt's id and text. */
    public Builder prompt(String id, String text) {
      this.promptId = id;
      this.prompt = text;
      return this;
    }

    /** The point, its seed and repeat. */
    public Builder at(Map<String, String> point, long seed, int repeat) {
      this.point = point;
      this.seed = seed;
      this.repeat = repeat;
      return this;
    }

    /** What was generated: why it stopped, the text, the prompt's and the generated token ids. */
    public Builder output(String stopReason, String text, int[] promptTokens, int[] tokens) {
      this.stopReason = stopReason;
      this.text = text;
      this.promptTokens = promptTokens;
      this.tokens = tokens;
      return this;
    }

    /** The batch: its wall-clock time, its rows and this run's row. */
    public Builder batch(double elapsedMs, int rows, int row) {
      this.elapsedMs = elapsedMs;
      this.batchRows = rows;
      this.batchRow = row;
      return this;
    }

    public Builder error(String error) {
      this.error = error;
      return this;
    }

    public Builder steps(Steps steps) {
      this.steps = steps;
      return this;
    }

    public Builder provider(ProviderCall provider) {
      this.provider = provider;
      return this;
    }

    public Builder process(ProcessInfo process) {
      this.process = process;
      return this;
    }

    public RunRecord build() {
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
          process);
    }
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
