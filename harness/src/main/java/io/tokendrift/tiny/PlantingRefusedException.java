package io.tokendrift.tiny;

/**
 * The micro-ties cannot be planted in this model: its greedy paths or margins do not offer the
 * sites the planting needs (typically a model trained too little). Not a bug: the model asked for
 * cannot hold them.
 */
public final class PlantingRefusedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  PlantingRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
