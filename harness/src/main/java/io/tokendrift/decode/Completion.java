package io.tokendrift.decode;

import java.util.List;

/**
 * The outcome of one generation.
 *
 * @param tokens generated token ids, including a final EOS token if one was chosen
 * @param text decoded text, ending before any stop sequence and without the EOS token
 * @param stopReason why it ended
 * @param choices one per generated token
 * @param elapsedNanos wall-clock time from start to stop
 */
public record Completion(
    List<Integer> tokens,
    String text,
    StopReason stopReason,
    List<Choice> choices,
    long elapsedNanos) {
  public Completion {
    tokens = List.copyOf(tokens);
    choices = List.copyOf(choices);
  }
}
