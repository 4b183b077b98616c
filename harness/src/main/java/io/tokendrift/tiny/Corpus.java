package io.tokendrift.tiny;

import io.tokendrift.decode.Draws;
import java.util.ArrayList;
import java.util.List;

/**
 * The tiny model's training text: simple English generated from a seed — facts, short stories,
 * dialogue, lists, sentences from the seed document — with {@link NearTie planted near-ties} whose
 * alternatives are dealt from shuffled decks, so over the corpus each alternative appears in
 * exactly its intended share (per full deck of ten).
 *
 * <p>ASCII only. The same seed gives the same documents, byte for byte, on any machine.
 */
public final class Corpus {
  /** Held-out documents come from this stream, training documents from stream 0. */
  public static final int HELD_OUT_STREAM = 1;

  /** Countries and capitals: the facts greedy decoding must reproduce. */
  static final String[][] CAPITALS = {
    {"France", "Paris"},
    {"Germany", "Berlin"},
    {"Italy", "Rome"},
    {"Spain", "Madrid"},
    {"Japan", "Tokyo"},
    {"Egypt", "Cairo"},
    {"Kenya", "Nairobi"},
    {"Peru", "Lima"},
    {"Canada", "Ottawa"},
    {"Russia", "Moscow"},
    {"China", "Beijing"},
    {"Greece", "Athens"},
    {"Norway", "Oslo"},
    {"Sweden", "Stockholm"},
    {"Poland", "Warsaw"},
    {"Austria", "Vienna"},
    {"Portugal", "Lisbon"},
    {"Ireland", "Dublin"},
    {"Cuba", "Havana"},
    {"Chile", "Santiago"},
    {"Turkey", "Ankara"},
    {"Thailand", "Bangkok"},
    {"Vietnam", "Hanoi"},
    {"Australia", "Canberra"},
  };

  static final String[][] AUTHORS = {
    {"Hamlet", "William Shakespeare"},
    {"Emma", "Jane Austen"},
    {"Dracula", "Bram Stoker"},
    {"Frankenstein", "Mary Shelley"},
    {"Ulysses", "James Joyce"},
    {"Beloved", "Toni Morrison"},
  };

  /** Sentences from the seed document, lightly cleaned. */
  static final String[] SEED_SENTENCES = {
    "Text generation is autoregressive: generate one token, append it, generate the next.",
    "The model outputs raw scores, called logits, not probabilities.",
    "Softmax converts logits to probabilities.",
    "The token with the highest logit gets the highest probability.",
    "Temperature scales logits before softmax.",
    "Each token conditions only on previous tokens.",
    "The model can not look ahead and fix mistakes.",
    "Early mistakes compound.",
    "Even with temperature zero, outputs can vary.",
    "Order matters: temperature affects which tokens pass top-k.",
    "Greedy decoding always picks the token with the highest probability.",
    "Top-p keeps the smallest set of tokens whose probability mass exceeds p.",
  };

  private static final String[] NAMES = {
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jack", "Lena",
    "Max", "Nora", "Oscar", "Paul", "Rosa", "Sam", "Tom", "Vera", "Zoe"
  };
  private static final String[] ANIMALS = {
    "fox", "rabbit", "bird", "horse", "mouse", "bear", "frog", "owl", "goat", "duck"
  };
  private static final String[] ADJECTIVES = {
    "little", "brave", "clever", "quiet", "happy", "curious", "small", "kind", "old", "young"
  };
  private static final String[] PLACES = {
    "forest", "river", "garden", "village", "hill", "market", "lake", "field", "school", "beach"
  };
  private static final String[] HOMES = {"house", "cottage", "tent", "barn", "cabin", "tower"};
  private static final String[] VERBS = {
    "swim", "sing", "read", "run", "paint", "dance", "climb", "fish", "draw", "walk"
  };
  private static final String[] OBJECTS = {
    "a red ball",
    "an old map",
    "a golden key",
    "a blue stone",
    "a small box",
    "a paper boat",
    "a silver bell",
    "a green hat"
  };
  private static final String[] FEELINGS = {"happy", "tired", "hungry", "proud", "sleepy", "glad"};
  private static final String[] FRUITS = {
    "apples", "pears", "plums", "grapes", "lemons", "cherries", "oranges", "melons"
  };
  private static final String[] NUMBERS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"
  };
  private static final String[] DAYS = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
  };

  private final long seed;
  private final List<NearTie> ties;
  private final long[] dealt; // per tie: how many alternatives have been dealt so far

  private Corpus(long seed) {
    this.seed = seed;
    this.ties = NearTie.PLANTED;
    this.dealt = new long[ties.size()];
  }

  /**
   * Generates {@code count} documents of {@code stream} (0 for training, {@link #HELD_OUT_STREAM}
   * for held-out text). Planted alternatives are dealt per stream from shuffled decks of ten, so
   * each stream alone keeps the intended shares.
   */
  public static List<String> documents(long seed, int stream, int count) {
    Corpus c = new Corpus(seed);
    List<String> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(c.document(new Rng(new Draws(seed, ((long) stream << 32) | i))));
    }
    return out;
  }

  /** Sequential uniform draws of one document. */
  static final class Rng {
    private final Draws draws;
    private int counter;

    Rng(Draws draws) {
      this.draws = draws;
    }

    double next() {
      return draws.uniform(counter++);
    }

    int below(int n) {
      return (int) (next() * n);
    }

    <T> T pick(T[] options) {
      return options[below(options.length)];
    }
  }

  private String document(Rng r) {
    double kind = r.next();
    List<String> sentences = new ArrayList<>();
    if (kind < 0.35) {
      story(r, sentences);
    } else if (kind < 0.55) {
      dialogue(r, sentences);
    } else if (kind < 0.85) {
      int n = 3 + r.below(4);
      for (int i = 0; i < n; i++) {
        sentences.add(r.next() < 0.5 ? fact(r) : list(r));
      }
    } else {
      int n = 2 + r.below(3);
      for (int i = 0; i < n; i++) {
        sentences.add(r.pick(SEED_SENTENCES));
      }
    }
    // Planted sentences go anywhere, including first, so they are learned at document start too.
    int plants = 1 + r.below(3);
    for (int i = 0; i < plants; i++) {
      sentences.add(r.below(sentences.size() + 1), planted(r));
    }
    return String.join(" ", sentences);
  }

  /** One planted sentence; the alternative comes from the tie's deck, not from a fresh draw. */
  private String planted(Rng r) {
    int t = r.below(ties.size());
    NearTie tie = ties.get(t);
    long k = dealt[t]++;
    // Deck number k / 10 is a Philox permutation of ten cards laid out by the intended shares.
    int[] order = new Draws(seed, 0x7E_0000_0000L | ((long) t << 24) | (k / 10)).permutation(10);
    int card = order[(int) (k % 10)];
    return tie.prefix() + tie.alternatives().get(tie.alternativeOfCard(card)).text() + tie.suffix();
  }

  private String fact(Rng r) {
    double f = r.next();
    if (f < 0.55) {
      String[] c = r.pick(CAPITALS);
      return switch (r.below(3)) {
        case 0 -> "The capital of " + c[0] + " is " + c[1] + ".";
        case 1 -> c[1] + " is the capital of " + c[0] + ".";
        default -> "Q: What is the capital of " + c[0] + "? A: " + c[1] + ".";
      };
    }
    if (f < 0.7) {
      String[] a = r.pick(AUTHORS);
      return "The author of " + a[0] + " was " + a[1] + ".";
    }
    if (f < 0.85) {
      int x = 1 + r.below(9);
      int y = 1 + r.below(9);
      return x + " plus " + y + " is " + (x + y) + ".";
    }
    int d = r.below(7);
    return "The day after " + DAYS[d] + " is " + DAYS[(d + 1) % 7] + ".";
  }

  private String list(Rng r) {
    switch (r.below(3)) {
      case 0 -> {
        int n = 2 + r.below(4);
        int[] order = new Draws(seed, 0x11_0000_0000L).permutation(FRUITS.length);
        int offset = r.below(FRUITS.length);
        StringBuilder b = new StringBuilder("My shopping list: ");
        for (int i = 0; i < n; i++) {
          b.append(i == 0 ? "" : ", ").append(FRUITS[order[(offset + i) % FRUITS.length]]);
        }
        return b.append(".").toString();
      }
      case 1 -> {
        int start = r.below(6);
        int n = 3 + r.below(3);
        StringBuilder b = new StringBuilder("Count with me: ");
        for (int i = 0; i < n; i++) {
          b.append(i == 0 ? "" : ", ").append(NUMBERS[start + i]);
        }
        return b.append(".").toString();
      }
      default -> {
        return "The days of the week are Monday, Tuesday, Wednesday, Thursday, Friday, Saturday"
            + " and Sunday.";
      }
    }
  }

  private void story(Rng r, List<String> out) {
    String name = r.pick(NAMES);
    String animal = r.pick(ANIMALS);
    String place = r.pick(PLACES);
    out.add(
        "Once upon a time there was a "
            + r.pick(ADJECTIVES)
            + " "
            + animal
            + " named "
            + name
            + ".");
    out.add(name + " lived in a " + r.pick(HOMES) + " near the " + place + ".");
    int middle = 1 + r.below(3);
    for (int i = 0; i < middle; i++) {
      out.add(
          switch (r.below(4)) {
            case 0 ->
                "Every morning " + name + " went to the " + place + " to " + r.pick(VERBS) + ".";
            case 1 -> "One day " + name + " found " + r.pick(OBJECTS) + ".";
            case 2 -> name + " was very " + r.pick(FEELINGS) + ".";
            default -> "The " + animal + " liked to " + r.pick(VERBS) + ".";
          });
    }
    out.add("In the end, " + name + " went home and slept.");
  }

  private void dialogue(Rng r, List<String> out) {
    String a = r.pick(NAMES);
    String b = r.pick(NAMES);
    if (a.equals(b)) {
      b = NAMES[(java.util.Arrays.asList(NAMES).indexOf(a) + 1) % NAMES.length];
    }
    out.add("\"Hello, " + b + ",\" said " + a + ".");
    out.add("\"Hello, " + a + ". How are you today?\" asked " + b + ".");
    out.add("\"I am " + r.pick(FEELINGS) + ",\" said " + a + ".");
    if (r.next() < 0.5) {
      out.add("\"Shall we go to the " + r.pick(PLACES) + "?\" asked " + b + ".");
      out.add("\"Yes, let us go,\" said " + a + ".");
    }
  }
}
