package io.tokendrift.engine;

/**
 * What an engine offers.
 *
 * @param name short engine name, e.g. {@code djl-gpt2}
 * @param vocabSize length of every logit vector
 * @param contextLength the most tokens a row may hold
 * @param fullLogits true when every step returns the whole vocabulary's logits (an HTTP provider
 *     returns only the top few)
 */
public record Capabilities(String name, int vocabSize, int contextLength, boolean fullLogits) {}
