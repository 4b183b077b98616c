package io.tokendrift.report;

/** Escaping for text and attribute values: every prompt and model string goes through here. */
final class Html {
  private Html() {}

  /** Text content: &amp; &lt; &gt; escaped (quotes too, so the same string is safe anywhere). */
  static String text(String s) {
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> {
          if (c < 0x20 && c != '\n' && c != '\t') {
            b.append("&#").append((int) c).append(';');
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }

  /** Attribute values (always written in double quotes): newlines kept as entities. */
  static String attr(String s) {
    return text(s).replace("\n", "&#10;").replace("\t", "&#9;");
  }
}
