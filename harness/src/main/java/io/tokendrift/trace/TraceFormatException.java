package io.tokendrift.trace;

/** A trace file that cannot be read: the message names the file and line. */
public final class TraceFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public TraceFormatException(String message) {
    super(message);
  }

  public TraceFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
