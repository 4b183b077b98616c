package io.tokendrift.engine;

/**
 * The machine cannot run what was asked (no GPU, no native library, no model): exit code 3, never a
 * silent fallback.
 */
public final class EnvironmentException extends RuntimeException {
  public EnvironmentException(String message) {
    super(message);
  }

  public EnvironmentException(String message, Throwable cause) {
    super(message, cause);
  }
}
