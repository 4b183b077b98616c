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
 * @param tokens per generated token, when logprobs were asked for and given; else null
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
    List<RemoteToken> tokens) {

  /** A request that finally failed. */
  public static RemoteReply failed(String error, int status, int attempts, double latencyMs) {
    return new RemoteReply(
        false, error, status, attempts, latencyMs, null, null, null, null, null, -1, -1, null);
  }
}
