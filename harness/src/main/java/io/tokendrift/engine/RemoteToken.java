package io.tokendrift.engine;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * One generated token as a provider reports it.
 *
 * @param text the token's text
 * @param bytes its bytes when the API gives them (chat API), else null
 * @param logprob its log-probability
 * @param topTexts the alternatives' texts, most likely first
 * @param topLogprobs their log-probabilities
 */
public record RemoteToken(
    String text, byte[] bytes, double logprob, List<String> topTexts, double[] topLogprobs) {
  public RemoteToken {
    topTexts = List.copyOf(topTexts);
    if (topTexts.size() != topLogprobs.length) {
      throw new IllegalArgumentException("one logprob per alternative is needed");
    }
  }

  /**
   * A stable id for a token text, since providers do not name their vocabulary's ids: the first 31
   * bits of SHA-256 over its UTF-8. The same text has the same id in every run, process and trace,
   * so token sequences compare as the texts do. (Two different texts share an id with probability
   * about 2^-31 per pair.)
   */
  public static int idOf(String text) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return ((h[0] & 0x7F) << 24) | ((h[1] & 0xFF) << 16) | ((h[2] & 0xFF) << 8) | (h[3] & 0xFF);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
