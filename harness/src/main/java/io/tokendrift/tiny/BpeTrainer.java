package io.tokendrift.tiny;

import io.tokendrift.model.ByteLevel;
import io.tokendrift.model.TokenizerJson;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a byte-level BPE the way GPT-2's was made: split text with GPT-2's pre-tokenizer pattern,
 * map each piece's UTF-8 bytes to the byte-level alphabet, then repeatedly merge the most frequent
 * adjacent pair. Ties between equally frequent pairs go to the pair whose (left, right) ids are
 * smallest, so the result depends only on the text.
 */
public final class BpeTrainer {
  /** GPT-2's pre-tokenizer pattern (what the Hugging Face ByteLevel pre-tokenizer applies). */
  static final Pattern GPT2_SPLIT =
      Pattern.compile(
          "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

  /** The trained tokenizer: token strings in id order and merges in priority order. */
  public record Result(List<String> vocab, List<String> merges) {
    /** The Hugging Face tokenizer.json (EOS appended with id {@code vocab.size()}). */
    public String tokenizerJson() {
      return TokenizerJson.build(vocab, merges);
    }
  }

  private BpeTrainer() {}

  /**
   * Learns merges until the vocabulary (256 bytes plus merges, EOS not counted) has {@code
   * vocabSize} entries or no pair occurs twice.
   */
  public static Result train(List<String> documents, int vocabSize) {
    if (vocabSize < 256) {
      throw new IllegalArgumentException(
          "vocabulary size " + vocabSize + " is below the 256 bytes");
    }
    // Word frequencies in a sorted map: the order words are visited never depends on hashing.
    Map<String, Integer> counts = new TreeMap<>();
    for (String d : documents) {
      Matcher m = GPT2_SPLIT.matcher(d);
      while (m.find()) {
        counts.merge(m.group(), 1, Integer::sum);
      }
    }
    List<int[]> words = new ArrayList<>(counts.size());
    int[] freq = new int[counts.size()];
    int w = 0;
    for (Map.Entry<String, Integer> e : counts.entrySet()) {
      byte[] bytes = e.getKey().getBytes(StandardCharsets.UTF_8);
      int[] symbols = new int[bytes.length];
      for (int i = 0; i < bytes.length; i++) {
        symbols[i] = bytes[i] & 0xFF;
      }
      words.add(symbols);
      freq[w++] = e.getValue();
    }
    List<String> vocab = new ArrayList<>(TokenizerJson.byteAlphabet());
    List<String> merges = new ArrayList<>();
    while (vocab.size() < vocabSize) {
      Map<Long, Long> pairs = new HashMap<>();
      for (int i = 0; i < words.size(); i++) {
        int[] s = words.get(i);
        for (int j = 0; j + 1 < s.length; j++) {
          pairs.merge(((long) s[j] << 32) | s[j + 1], (long) freq[i], Long::sum);
        }
      }
      long best = -1;
      long bestCount = 1;
      for (Map.Entry<Long, Long> e : pairs.entrySet()) {
        long c = e.getValue();
        if (c > bestCount || (c == bestCount && best >= 0 && e.getKey() < best)) {
          best = e.getKey();
          bestCount = c;
        }
      }
      if (best < 0) {
        break; // no pair occurs twice
      }
      int left = (int) (best >>> 32);
      int right = (int) best;
      int id = vocab.size();
      vocab.add(vocab.get(left) + vocab.get(right));
      merges.add(vocab.get(left) + " " + vocab.get(right));
      for (int i = 0; i < words.size(); i++) {
        words.set(i, merge(words.get(i), left, right, id));
      }
    }
    return new Result(List.copyOf(vocab), List.copyOf(merges));
  }

  private static int[] merge(int[] s, int left, int right, int id) {
    int n = 0;
    int[] out = null;
    for (int j = 0; j < s.length; j++) {
      if (j + 1 < s.length && s[j] == left && s[j + 1] == right) {
        if (out == null) {
          out = new int[s.length - 1];
          System.arraycopy(s, 0, out, 0, j);
          n = j;
        }
        out[n++] = id;
        j++;
      } else if (out != null) {
        out[n++] = s[j];
      }
    }
    return out == null ? s : java.util.Arrays.copyOf(out, n);
  }

  /** The byte-level form of {@code text}, as the tokenizer's vocabulary spells it. */
  static String byteLevel(String text) {
    StringBuilder b = new StringBuilder();
    for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
      b.append(ByteLevel.charOf(x & 0xFF));
    }
    return b.toString();
  }
}
