package io.tokendrift.trace;

/**
 * What a provider said about one run's request (trace schema 2): the response's identity, the
 * backend's fingerprint, usage and timing. Null on runs of a local engine.
 *
 * @param responseId the response {@code id}
 * @param model the model as the provider answered it
 * @param systemFingerprint the backend configuration's fingerprint, or null when not given
 * @param finishReason the provider's {@code finish_reason}
 * @param promptTokens usage: prompt tokens (-1 when not given)
 * @param completionTokens usage: completion tokens (-1 when not given)
 * @param cachedTokens prompt tokens the provider served from its prompt cache (-1: not given)
 * @param latencyMs wall-clock time of the request that succeeded (all attempts when failed)
 * @param httpStatus the last HTTP status (0: no response)
 * @param attempts how many times it was sent (retries + 1)
 * @param logprobs whether token logprobs were asked for (without them the run holds text only)
 * @param retries why each attempt before the last was sent again (empty: sent once; traces before
 *     this field record none)
 * @param inFlight requests of its wave (itself and fillers included) whose last attempt overlapped
 *     this run's last attempt in time: the concurrency the run was actually sent at (-1: not
 *     recorded). Fewer than the point's concurrency means retries cost the run its company.
 */
public record ProviderCall(
    String responseId,
    String model,
    String systemFingerprint,
    String finishReason,
    int promptTokens,
    int completionTokens,
    int cachedTokens,
    double latencyMs,
    int httpStatus,
    int attempts,
    boolean logprobs,
    java.util.List<Retry> retries,
    int inFlight) {

  /**
   * One attempt sent again.
   *
   * @param status its HTTP status (0: no response)
   * @param kind what went wrong in a few words ({@code HTTP 429}, {@code timeout}, ...)
   * @param reason the whole reason
   * @param waitMs how long the client waited before the next attempt
   */
  public record Retry(int status, String kind, String reason, long waitMs) {}

  public ProviderCall {
    retries = java.util.List.copyOf(retries);
  }

  /** Whether the run was sent with fewer requests in flight than its point's concurrency. */
  public boolean lostConcurrency(int concurrency) {
    return inFlight >= 0 && inFlight < concurrency;
  }
}
