package io.tokendrift.model;

/** A model directory or file that cannot be read: the message names the file and what is wrong. */
public final class ModelFormatException extends RuntimeException {
  public ModelFormatException(String message) {
    super(message);
  }

  public ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
