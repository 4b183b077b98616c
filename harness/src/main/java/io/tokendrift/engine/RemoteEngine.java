package io.tokendrift.engine;

import java.util.Map;

/**
 * A model behind an HTTP API that samples for itself: the client sends a whole request (prompt,
 * decoding settings) and gets back the completion with what the provider tells of each token, its
 * logprob and the top alternatives. Safe for concurrent use: concurrency is an axis.
 */
public interface RemoteEngine extends AutoCloseable {
  /**
   * What this engine records in a manifest: base URL (never credentials), model, API, limits. Keys
   * sorted.
   */
  Map<String, String> settings();

  /**
   * Sends one request, retrying what a careful client retries (429, 5xx, connection errors) up to
   * its limit. A request that finally fails is a reply with {@link RemoteReply#ok()} false and the
   * status and message, never an exception.
   *
   * @throws InterruptedException when the calling thread is interrupted while waiting
   */
  RemoteReply complete(RemoteRequest request) throws InterruptedException;

  @Override
  void close();
}
