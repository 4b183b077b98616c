package io.tokendrift.engine;

import java.util.List;

/**
 * One request to a provider.
 *
 * @param prompt the prompt text (the chat API sends it as one user message)
 * @param chat true for {@code /chat/completions}, false for {@code /completions}
 * @param maxTokens tokens to generate at most
 * @param temperature sent always (providers default to 1)
 * @param topP nucleus mass, sent always
 * @param seed the sampling seed, or null to send none
 * @param topLogprobs alternatives per token to ask for, or -1 to ask for no logprobs
 * @param stop stop sequences (may be empty)
 * @param extraFields further JSON fields sent as they are (a JSON object's text, e.g. {@code
 *     {"cache_prompt":true}}), or null for none: a spec's {@code axes.request} set
 */
public record RemoteRequest(
    String prompt,
    boolean chat,
    int maxTokens,
    double temperature,
    double topP,
    Long seed,
    int topLogprobs,
    List<String> stop,
    String extraFields) {
  /** A request with no extra fields. */
  public RemoteRequest(
      String prompt,
      boolean chat,
      int maxTokens,
      double temperature,
      double topP,
      Long seed,
      int topLogprobs,
      List<String> stop) {
    this(prompt, chat, maxTokens, temperature, topP, seed, topLogprobs, stop, null);
  }

  public RemoteRequest {
    stop = List.copyOf(stop);
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens (" + maxTokens + ") must be >= 1");
    }
  }

  /** Whether logprobs are asked for. */
  public boolean logprobs() {
    return topLogprobs >= 0;
  }
}
