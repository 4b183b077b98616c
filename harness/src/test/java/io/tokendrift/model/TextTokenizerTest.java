package io.tokendrift.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextTokenizerTest {
  @TempDir Path dir;

  /** A byte-level BPE with the 256 bytes, the merges "t h" and "th e", and EOS. */
  static Path write(Path dir) throws Exception {
    List<String> vocab = new java.util.ArrayList<>(TokenizerJson.byteAlphabet());
    vocab.add("th");
    vocab.add("the");
    Path f = dir.resolve("tokenizer.json");
    Files.writeString(f, TokenizerJson.build(vocab, List.of("t h", "th e")));
    return f;
  }

  @Test
  void byteLevelBpeLoadsThroughDjlAndRoundTrips() throws Exception {
    try (TextTokenizer t = TextTokenizer.load(write(dir))) {
      int[] ids = t.encode("the cat");
      // "the" merges to id 257; " " is byte 32, "c" 99, "a" 97, "t" 116.
      assertThat(ids).containsExactly(257, 32, 99, 97, 116);
      assertThat(t.decode(ids)).isEqualTo("the cat");
      String unicode = "Ünïcödé → 東京\n";
      assertThat(t.decode(t.encode(unicode))).isEqualTo(unicode);
    }
  }

  @Test
  void longTextsAreNotTruncated() throws Exception {
    try (TextTokenizer t = TextTokenizer.load(write(dir))) {
      String text = "abcdefghij".repeat(120); // 1,200 single-byte tokens, beyond DJL's default 512
      assertThat(t.encode(text)).hasSize(1200);
    }
  }
}
