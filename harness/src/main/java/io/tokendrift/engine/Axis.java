package io.tokendrift.engine;

import java.util.Locale;

/**
 * A condition an experiment can vary. An engine states which of these it can change ({@link
 * Capabilities#axes()}); a spec that varies any other is refused before anything runs.
 */
public enum Axis {
  DEVICE,
  BATCH_SIZE,
  BATCH_POSITION,
  SUMMATION,
  PRECISION,
  THREADS,
  BATCH_INVARIANT,
  /** Decoding with the KV cache, or recomputing the whole prefix at every step. */
  KV_CACHE,
  /** Requests in flight together at an HTTP provider: its batch, as the client can shape it. */
  CONCURRENCY,
  /** Whether the request asks for logprobs (does asking change the tokens?). */
  LOGPROBS,
  /** Whether the request sends the sampling seed. */
  SEED,
  /** Which API a provider is asked through: chat or completions. */
  API;

  /** The axes of an engine that computes logits itself. */
  public static final java.util.Set<Axis> LOCAL =
      java.util.Collections.unmodifiableSet(java.util.EnumSet.range(DEVICE, KV_CACHE));

  /** The axes of a provider reached over HTTP. */
  public static final java.util.Set<Axis> PROVIDER =
      java.util.Collections.unmodifiableSet(java.util.EnumSet.range(CONCURRENCY, API));

  /** The name used in specs, traces and reports, e.g. {@code batch_size}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
