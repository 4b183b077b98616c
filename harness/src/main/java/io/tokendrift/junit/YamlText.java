package io.tokendrift.junit;

/** YAML scalars for the spec {@link Stability} writes. */
final class YamlText {
  private YamlText() {}

  /** An axis value as the spec reader wants it: numbers and booleans bare, the rest quoted. */
  static String scalar(String axis, String v) {
    return switch (axis) {
      case "batch_size", "batch_position", "threads", "batch_invariant" -> v;
      default -> quote(v);
    };
  }

  /** A YAML double-quoted scalar. */
  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}
