package io.tokendrift.tiny;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.model.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {
  @Test
  void mergesTheMostFrequentPairFirstAndBreaksTiesBySmallerIds() {
    // "aa" occurs 4 times inside "aaa aaa" ... counted per word: "aaa" x2 gives (a,a) 4 times.
    BpeTrainer.Result r = BpeTrainer.train(List.of("aaa aaa bc"), 259);
    // Words: "aaa" x1, " aaa" x1, " bc" x1 ('Ġ' is the byte-level space).
    // Pairs: (a,a) 4, (Ġ,a) 1, (Ġ,b) 1, (b,c) 1 -> first merge "a a".
    assertThat(r.merges().get(0)).isEqualTo("a a");
    // Then: (aa,a) 2 -> "aa a".
    assertThat(r.merges().get(1)).isEqualTo("aa a");
    // Then every pair occurs once: training stops before the target.
    assertThat(r.merges()).hasSize(2);
    assertThat(r.vocab()).hasSize(258);
    assertThat(r.vocab().get(256)).isEqualTo("aa");
    assertThat(r.vocab().get(257)).isEqualTo("aaa");
  }

  @Test
  void equalCountsGoToTheSmallerPairOfIds() {
    // "ab" and "cd" both occur twice; (a=97,b=98) < (c=99,d=100).
    BpeTrainer.Result r = BpeTrainer.train(List.of("cd", "ab", "cd", "ab"), 257);
    assertThat(r.merges()).containsExactly("a b");
  }

  @Test
  void trainedTokenizerLoadsInDjlAndRoundTrips(@TempDir Path dir) throws Exception {
    List<String> docs = Corpus.documents(3, 0, 400);
    BpeTrainer.Result r = BpeTrainer.train(docs, 700);
    assertThat(BpeTrainer.train(docs, 700)).isEqualTo(r); // deterministic
    Path file = dir.resolve("tokenizer.json");
    Files.writeString(file, r.tokenizerJson());
    try (TextTokenizer tok = TextTokenizer.load(file)) {
      for (String d : docs.subList(0, 50)) {
        int[] ids = tok.encode(d);
        assertThat(tok.decode(ids)).isEqualTo(d);
        assertThat(ids.length).isLessThan(d.length() / 2); // merges were learned and used
      }
      // A frequent word is a single token, with its leading space.
      int[] the = tok.encode(" the");
      assertThat(the).hasSize(1);
      assertThat(tok.tokenText(the[0])).isEqualTo(" the");
      // Text the corpus never had still encodes (byte fallback through the 256 byte tokens).
      assertThat(tok.decode(tok.encode("Zürich ☃"))).isEqualTo("Zürich ☃");
      // EOS is the id after the BPE vocabulary.
      assertThat(tok.tokenText(r.vocab().size())).isEqualTo("<|endoftext|>");
    }
  }

  @Test
  void refusesAVocabularySmallerThanTheBytes() {
    assertThatThrownBy(() -> BpeTrainer.train(List.of("x"), 255))
        .hasMessage("vocabulary size 255 is below the 256 bytes");
  }
}
