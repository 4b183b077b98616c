package io.tokendrift.trace;

/**
 * Another process is writing the trace: an environment condition (exit 3), named in the message.
 */
public final class TraceLockedException extends RuntimeException {
  public TraceLockedException(String message) {
    super(message);
  }
}
