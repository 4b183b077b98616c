package io.tokendrift.model;

/**
 * GPT-2's byte-to-character map: every byte gets a printable Unicode character, so byte-level BPE
 * vocabularies are plain strings (the {@code bytes_to_unicode} table of OpenAI's encoder.py).
 */
public final class ByteLevel {
  private static final char[] BYTE_TO_CHAR = new char[256];

  static {
    int extra = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + extra++);
    }
  }

  private ByteLevel() {}

  /** The character that stands for byte {@code b} (0..255). */
  public static char charOf(int b) {
    return BYTE_TO_CHAR[b & 0xFF];
  }

  /** The byte-level string of raw bytes. */
  public static String encode(byte[] bytes) {
    StringBuilder sb = new StringBuilder(bytes.length);
    for (byte b : bytes) {
      sb.append(charOf(b));
    }
    return sb.toString();
  }
}
