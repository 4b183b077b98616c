package io.tokendrift.engine;

import java.util.List;
import java.util.Map;

/**
 * A model that turns batches of token sequences into next-token logits. The decode loop samples in
 * Java, so an engine only runs forward passes: prefill the prompts, then one token per row per
 * step.
 */
public interface Engine extends AutoCloseable {
  /** What this engine can do. */
  Capabilities capabilities();

  /**
   * Starts a batch: row i holds {@code prompts.get(i)}. The returned batch already holds the logits
   * after each prompt.
   *
   * @throws IllegalArgumentException when a prompt is empty or longer than the context window
   */
  Batch start(List<int[]> prompts);

  /**
   * Starts a batch of sequences recomputed from scratch (decoding without a KV cache): as {@link
   * #start}, except that a sequence may fill the context window (its last token is then chosen at
   * the full context, as a cached batch chooses it).
   */
  default Batch restart(List<int[]> sequences) {
    return start(sequences);
  }

  /**
   * Every setting of this engine that can change a bit of the logits (device, precision, summation
   * order, threads, batch-invariant mode, library versions), for the environment manifest. Keys
   * sorted.
   */
  Map<String, String> settings();

  @Override
  void close();
}
