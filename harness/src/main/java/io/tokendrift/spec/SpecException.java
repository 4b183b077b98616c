package io.tokendrift.spec;

/**
 * A refused experiment spec: the message names the file, line and column, the field path and what
 * is allowed.
 */
public final class SpecException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public SpecException(String message) {
    super(message);
  }

  public SpecException(String message, Throwable cause) {
    super(message, cause);
  }
}
