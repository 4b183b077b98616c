package io.tokendrift.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class CorpusTest {
  private static final long SEED = 7;
  private static final List<String> DOCS = Corpus.documents(SEED, 0, 3000);

  @Test
  void sameSeedSameDocumentsAndOtherSeedsOrStreamsDiffer() {
    assertThat(Corpus.documents(SEED, 0, 3000)).isEqualTo(DOCS);
    assertThat(Corpus.documents(SEED + 1, 0, 50)).isNotEqualTo(DOCS.subList(0, 50));
    assertThat(Corpus.documents(SEED, Corpus.HELD_OUT_STREAM, 50))
        .isNotEqualTo(DOCS.subList(0, 50));
  }

  @Test
  void textIsAsciiAndEveryKindOfSentenceAppears() {
    for (String d : DOCS) {
      assertThat(d.chars().allMatch(c -> c >= 0x20 && c < 0x7F)).as(d).isTrue();
    }
    String all = String.join("\n", DOCS);
    assertThat(all)
        .contains("The capital of France is Paris.")
        .contains("Once upon a time there was a")
        .contains("said")
        .contains("My shopping list:")
        .contains("Temperature scales logits before softmax.")
        .contains("The author of Hamlet was William Shakespeare.");
  }

  /** The ground truth the analysis relies on: after a planted prefix only its alternatives come. */
  @Test
  void everyPlantedPrefixIsFollowedOnlyByItsAlternativesInTheIntendedShares() {
    for (NearTie t : NearTie.PLANTED) {
      Pattern p = Pattern.compile(Pattern.quote(t.prefix()) + "( [A-Za-z0-9]+)");
      long[] counts = new long[t.alternatives().size()];
      long total = 0;
      for (String d : DOCS) {
        Matcher m = p.matcher(d);
        while (m.find()) {
          String next = m.group(1);
          int idx = -1;
          for (int i = 0; i < counts.length; i++) {
            if (t.alternatives().get(i).text().equals(next)) {
              idx = i;
            }
          }
          assertThat(idx).as("%s followed by '%s'", t.prefix(), next).isNotNegative();
          counts[idx]++;
          total++;
        }
      }
      assertThat(total).as(t.id()).isGreaterThan(200);
      for (int i = 0; i < counts.length; i++) {
        // Decks of ten: the share is exact per full deck, so the count is off by at most one deck.
        double expected = total * t.alternatives().get(i).probability();
        assertThat((double) counts[i]).as(t.id() + " " + i).isCloseTo(expected, offsetOf(10));
      }
    }
  }

  @Test
  void tieKindsAndCardLayout() {
    NearTie cat = NearTie.PLANTED.get(0);
    assertThat(cat.kind()).isEqualTo("50/50");
    assertThat(NearTie.PLANTED.stream().map(NearTie::kind).distinct())
        .containsExactly("50/50", "70/30", "90/10");
    NearTie dog =
        NearTie.PLANTED.stream().filter(t -> t.id().startsWith("dog")).findFirst().orElseThrow();
    int favourite = 0;
    for (int c = 0; c < 10; c++) {
      favourite += dog.alternativeOfCard(c) == 0 ? 1 : 0;
    }
    assertThat(favourite).isEqualTo(9);
  }

  private static org.assertj.core.data.Offset<Double> offsetOf(double v) {
    return org.assertj.core.data.Offset.offset(v);
  }
}
