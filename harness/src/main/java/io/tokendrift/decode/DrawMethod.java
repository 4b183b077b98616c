package io.tokendrift.decode;

/** How a token is drawn from the kept distribution. */
public enum DrawMethod {
  /**
   * One uniform u per step; the first kept token (ascending id) whose cumulative probability
   * exceeds u wins, as {@code torch.multinomial} over a probability vector.
   */
  INVERSE_CDF,
  /**
   * One uniform per kept token; argmax of scaled logit plus Gumbel noise, as SGLang's seeded
   * sampling.
   */
  GUMBEL
}
