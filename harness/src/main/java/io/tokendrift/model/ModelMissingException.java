package io.tokendrift.model;

/**
 * The model a command names is not on this machine (no such folder): an environment problem (exit
 * 3), unlike a folder that is there but malformed ({@link ModelFormatException}, exit 2).
 */
public final class ModelMissingException extends RuntimeException {
  public ModelMissingException(String message) {
    super(message);
  }
}
