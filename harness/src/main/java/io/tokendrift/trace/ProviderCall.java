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
 * @param latencyMs wall-clock time of the request that succeeded (all attempts when failed)
 * @param httpStatus the last HTTP status (0: no response)
 * @param attempts how many times it was sent (retries + 1)
 * @param logprobs whether token logprobs were asked for (without them the run holds text only)
 */
public record ProviderCall(
    String responseId,
    String model,
    String systemFingerprint,
    String finishReason,
    int promptTokens,
    int completionTokens,
    double latencyMs,
    int httpStatus,
    int attempts,
    boolean logprobs) {}
