package io.tokendrift.decode;

import static io.tokendrift.decode.Require.require;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * When a generation ends, as the seed lists them.
 *
 * @param maxTokens generated tokens after which the run stops
 * @param eosIds token ids that end the run when chosen (the EOS token is kept in the ids, not in
 *     the text)
 * @param stopSequences strings that end the run when they appear in the decoded text; the text ends
 *     before the earliest one
 * @param timeout wall-clock budget of the run; {@link Duration#ZERO} means none
 */
public record StopConditions(
    int maxTokens, Set<Integer> eosIds, List<String> stopSequences, Duration timeout) {

  public StopConditions {
    require(maxTokens >= 1, "max_tokens (" + maxTokens + ") must be >= 1");
    require(eosIds != null, "eos ids must not be null");
    for (Integer id : eosIds) {
      require(id != null && id >= 0, "eos id (" + id + ") must be >= 0");
    }
    eosIds = Set.copyOf(new TreeSet<>(eosIds));
    require(stopSequences != null, "stop sequences must not be null");
    for (int i = 0; i < stopSequences.size(); i++) {
      String s = stopSequences.get(i);
      require(s != null && !s.isEmpty(), "stop[" + i + "] must be a non-empty string");
    }
    stopSequences = List.copyOf(stopSequences);
    require(
        timeout != null && !timeout.isNegative(),
        "timeout (" + timeout + ") must be >= 0 (0 means none)");
  }

  /** Stop only after {@code maxTokens}. */
  public static StopConditions maxTokens(int maxTokens) {
    return new StopConditions(maxTokens, Set.of(), List.of(), Duration.ZERO);
  }

  /** The earliest index in {@code text} where a stop sequence starts, or -1. */
  public int firstStopIndex(String text) {
    int best = -1;
    for (String s : stopSequences) {
      int i = text.indexOf(s);
      if (i >= 0 && (best < 0 || i < best)) {
        best = i;
      }
    }
    return best;
  }
}
