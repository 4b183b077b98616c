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
  BATCH_INVARIANT;

  /** The name used in specs, traces and reports, e.g. {@code batch_size}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
