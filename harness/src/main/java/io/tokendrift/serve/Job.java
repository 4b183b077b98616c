package io.tokendrift.serve;

import io.tokendrift.decode.Completion;
import io.tokendrift.decode.Generation;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One request in the scheduler: its prompt, its generation (settings, seed, stop conditions), how
 * many top logprobs to report, and the events the HTTP side reads — a token per step, then the end.
 */
final class Job {
  /** A generated token and, when asked for, its logprob and the top alternatives (raw logits). */
  record Token(int id, String text, String delta, double logprob, List<Top> top) {}

  /** An alternative: id, text and logprob. */
  record Top(int id, String text, double logprob) {}

  /** What the scheduler tells the HTTP side. */
  sealed interface Event permits TokenEvent, Done, Failed {}

  record TokenEvent(Token token) implements Event {}

  record Done(Completion completion, boolean contextFull) implements Event {}

  record Failed(String message) implements Event {}

  final int[] prompt;
  final Generation generation;
  final int topLogprobs; // -1: no logprobs
  final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  volatile boolean cancelled;

  Job(int[] prompt, Generation generation, int topLogprobs) {
    this.prompt = prompt.clone();
    this.generation = generation;
    this.topLogprobs = topLogprobs;
  }
}
