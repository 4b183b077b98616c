package io.tokendrift.cli;

/** Bad input from the user, reported as one line and exit code 2. */
final class UserInputException extends RuntimeException {
  UserInputException(String message) {
    super(message);
  }
}
