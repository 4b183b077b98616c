package io.tokendrift.decode;

/**
 * Turns generated token ids into text, so stop sequences can be matched across token boundaries.
 */
@FunctionalInterface
public interface Detokenizer {
  /** The text of {@code ids}, decoded together (not token by token). */
  String decode(int[] ids);
}
