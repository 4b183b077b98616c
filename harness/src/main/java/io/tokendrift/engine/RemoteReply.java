package io.tokendrift.engine;

import java.util.List;

/**
 * What a provider answered to one request, or why it failed after the client's retries.
 *
 * @param ok whether a completion came back
 * @param error why it failed (status and the provider's message), or null
 * @param httpStatus the last HTTP status (0 when no response came: timeout, connection error)
 * @param attempts how many times the request was sent
 * @param latencyMs wall-clock time of the successful attempt (or of all of them, when failed)
 * @param text the completion's text
 * @param finishReason the provider's {@code finish_reason}
 * @param responseId the response {@code id}
 * @param model the model as the provider answered it
 * @param systemFingerprint the backend's {@code system_fingerprint}, or null when not given
 * @param promptTokens usage: prompt tokens (-1 when not given)
 * @param completionTokens usage: completion tokens (-1 when not given)
 * @param cachedTokens usage: prompt tokens served from the provider's prompt cache ({@code
 *     usage.prompt_tokens_details.cached_tokens}; -1 when not given)
 * @param tokens per generated token, when logprobs were asked for and given; else null
 * @param retries why each attempt before the last was sent again, in order (empty: none)
 * @param sentNanos {@link System#nanoTime()} when the last attempt was sent (0: unknown)
 * @param doneNanos {@link System#nanoTime()} when its reply (or failure) came (0: unknown)
 */
public record RemoteReply(
    boolean ok,
    String error,
    int httpStatus,
    int attempts,
    double latencyMs,
    String text,
    String finishReason,
    String responseId,
    String model,
    String systemFingerprint,
    int promptTokens,
    int completionTokens,
    int cachedTokens,
    List<RemoteToken> tokens,
    List<Retry> retries,
    long sentNanos,
    long doneNanos) {

  /**
   * One attempt that was sent again.
   *
   * @param status its HTTP status (0: no response)
   * @param kind what went wrong, in a few words that group alike ({@code HTTP 429}, {@code
   *     timeout}, {@code connection}, {@code malformed reply})
   * @param reason the whole reason, as the error of a failed request would say it
   * @param waitMs how long the client waited before the next attempt
   */
  public record Retry(int status, String kind, String reason, long waitMs) {}

  public RemoteReply {
    retries = List.copyOf(retries);
  }

  /** A request that finally failed. */
  public static RemoteReply failed(String error, int status, int attempts, double latencyMs) {
    return new RemoteReply(
        false, error, status, attempts, latencyMs, null, null, null, null, null, -1, -1, -1, null,
        List.of(), 0, 0);
  }

  /** This reply with the retries before it and its last attempt's send and reply times. */
  public RemoteReply after(List<Retry> before, long sent, long done) {
    return new RemoteReply(
        ok,
        error,
        httpStatus,
        attempts,
        latencyMs,
        text,
        finishReason,
        responseId,
        model,
        systemFingerprint,
        promptTokens,
        completionTokens,
        cachedTokens,
        tokens,
        before,
        sent,
        done);
  }
}
