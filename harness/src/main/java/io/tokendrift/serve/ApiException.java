package io.tokendrift.serve;

/**
 * An error the API answers in OpenAI's shape: {@code {"error": {"message", "type", "param",
 * "code"}}} with its HTTP status.
 */
final class ApiException extends RuntimeException {
  final int status;
  final String type;
  final String param;
  final String code;

  ApiException(int status, String type, String param, String code, String message) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  /** 400: a request field is wrong; the message names it and what is allowed. */
  static ApiException invalid(String param, String message) {
    return new ApiException(400, "invalid_request_error", param, null, message);
  }
}
