package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PhiloxTest {
  // Random123's kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words), expected.
  @ParameterizedTest
  @CsvSource({
    "00000000 00000000 00000000 00000000, 00000000 00000000, 6627e8d5 e169c58d bc57ac4c 9b00dbd8",
    "ffffffff ffffffff ffffffff ffffffff, ffffffff ffffffff, 408f276d 41c83b0e a20bc7c6 6d5451fd",
    "243f6a88 85a308d3 13198a2e 03707344, a4093822 299f31d0, d16cfe09 94fdcceb 5001e420 24126ea1"
  })
  void matchesRandom123KnownAnswers(String counter, String key, String expected) {
    int[] c = words(counter);
    int[] k = words(key);
    assertThat(Philox.block(c[0], c[1], c[2], c[3], k[0], k[1])).containsExactly(words(expected));
  }

  private static int[] words(String hex) {
    String[] parts = hex.trim().split(" ");
    int[] out = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      out[i] = Integer.parseUnsignedInt(parts[i], 16);
    }
    return out;
  }
}
