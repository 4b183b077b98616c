package io.tokendrift.tiny;

import java.util.List;

/**
 * A point planted in the corpus where the next word is a known coin toss: after {@code prefix}
 * comes one of the alternatives with its intended probability, then {@code suffix}.
 *
 * @param id a short stable name
 * @param prefix the text before the choice, as a prompt would give it (no trailing space)
 * @param alternatives the continuations (each starting with a space) and their shares
 * @param suffix the text after the choice
 */
public record NearTie(String id, String prefix, List<Alternative> alternatives, String suffix) {

  /**
   * One continuation.
   *
   * @param text the continuation, with its leading space
   * @param tenths its share of the deck of ten cards (5 is 50%)
   */
  public record Alternative(String text, int tenths) {
    public double probability() {
      return tenths / 10.0;
    }
  }

  public NearTie {
    int sum = alternatives.stream().mapToInt(Alternative::tenths).sum();
    if (sum != 10) {
      throw new IllegalArgumentException(id + ": shares add up to " + sum + " tenths, not 10");
    }
    alternatives = List.copyOf(alternatives);
  }

  /** "50/50", "70/30" or "90/10": the shares in percent, largest first. */
  public String kind() {
    StringBuilder b = new StringBuilder();
    alternatives.stream()
        .map(a -> a.tenths() * 10)
        .sorted((x, y) -> y - x)
        .forEach(p -> b.append(b.length() == 0 ? "" : "/").append(p));
    return b.toString();
  }

  /** Which alternative card {@code c} (0..9) of a deck stands for: cards are laid out in order. */
  int alternativeOfCard(int c) {
    int acc = 0;
    for (int i = 0; i < alternatives.size(); i++) {
      acc += alternatives.get(i).tenths();
      if (c < acc) {
        return i;
      }
    }
    throw new IllegalArgumentException("card " + c + " outside 0..9");
  }

  private static NearTie of(String id, String prefix, String a, int ta, String b, String suffix) {
    return new NearTie(
        id, prefix, List.of(new Alternative(a, ta), new Alternative(b, 10 - ta)), suffix);
  }

  /** The near-ties planted in the bundled model's corpus. */
  public static final List<NearTie> PLANTED =
      List.of(
          of("cat-mat-rug", "The cat sat on the", " mat", 5, " rug", "."),
          of("cup-tea-coffee", "She poured a cup of", " tea", 5, " coffee", "."),
          of("door-window", "He opened the", " door", 5, " window", " and looked outside."),
          of("coin-heads-tails", "The coin landed on", " heads", 5, " tails", "."),
          of("light-green-red", "The light turned", " green", 5, " red", "."),
          of("season-summer-winter", "My favourite season is", " summer", 5, " winter", "."),
          of("weather-sunny-cloudy", "The weather today is", " sunny", 7, " cloudy", "."),
          of("breakfast-eggs-toast", "For breakfast we ate", " eggs", 7, " toast", "."),
          of("train-late-early", "The train was", " late", 7, " early", " again."),
          of("answer-definitely-probably", "The answer is", " definitely", 7, " probably", " 42."),
          of("dog-mailman-moon", "The dog barked at the", " mailman", 9, " moon", "."),
          of("children-park-rain", "The children played in the", " park", 9, " rain", "."),
          of("sky-dark-bright", "At night the sky is", " dark", 9, " bright", "."));
}
