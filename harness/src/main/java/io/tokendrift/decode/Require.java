package io.tokendrift.decode;

/** Argument checks whose messages name the parameter, its value and what is allowed. */
final class Require {
  private Require() {}

  static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
