package io.tokendrift.decode;

/** Why a generation ended. */
public enum StopReason {
  /** An end-of-sequence token was chosen. */
  EOS,
  /** The token budget was used up. */
  MAX_TOKENS,
  /** A stop sequence appeared in the decoded text. */
  STOP_SEQUENCE,
  /** The wall-clock budget ran out. */
  TIMEOUT,
  /** The model's context window is full. */
  CONTEXT_FULL
}
