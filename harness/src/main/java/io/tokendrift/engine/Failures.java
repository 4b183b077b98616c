package io.tokendrift.engine;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * How a failure reads where a person finds it later (a failed run's record, a served error): the
 * exception's class and message, then each cause's, so that "IllegalStateException: batch failed"
 * still says what made it fail.
 */
public final class Failures {
  private Failures() {}

  /** {@code Class: message; caused by Class: message; ...} over the cause chain. */
  public static String describe(Throwable t) {
    StringBuilder b = new StringBuilder();
    Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    for (Throwable c = t; c != null && seen.put(c, Boolean.TRUE) == null; c = c.getCause()) {
      String m = c.getMessage();
      if (c != t) {
        if (m != null && b.indexOf(m) >= 0) {
          // A wrapper that repeats its cause's message (new X(cause)) adds nothing but its class.
          continue;
        }
        b.append("; caused by ");
      }
      b.append(c.getClass().getSimpleName());
      if (m != null) {
        b.append(": ").append(m);
      }
    }
    return b.toString();
  }
}
