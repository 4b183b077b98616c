package io.tokendrift.check;

/** A baseline that cannot be used: missing, cut off or corrupt (exit 2). */
public final class BadBaselineException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public BadBaselineException(String message) {
    super(message);
  }

  public BadBaselineException(String message, Throwable cause) {
    super(message, cause);
  }
}
