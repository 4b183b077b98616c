package io.tokendrift.trace;

import java.util.Arrays;
import java.util.Base64;

/**
 * The per-step recordings of one run, stored column by column: for step i, the chosen token's
 * logit, the top-K ids and logits (largest first, ties to the lower id), log-sum-exp, entropy, the
 * draw and its margin (sampled steps), a digest of the whole logit vector, and optionally the
 * vector itself.
 *
 * <p>On disk each column is one base64 string of little-endian float32/float64 values (ids as
 * LEB128 varints): exact bits, about 170 bytes per step at K = 16.
 */
public final class Steps {
  private final int k;
  private int n;
  private float[] chosenLogit;
  private int[] topIds;
  private float[] topLogits;
  private float[] logSumExp;
  private float[] entropy;
  private double[] draw; // NaN on greedy steps
  private float[] drawMargin; // NaN on greedy steps
  private long[] digest;
  private float[][] full; // null unless recorded
  // A provider's steps (schema 2): the chosen token's text and bytes, the alternatives' texts.
  private String[] texts; // null for a local engine's steps
  private String[] topTexts; // n * k, null pads
  private String[] bytes; // base64 of the chosen token's bytes, or null per step
  // A float64 engine's top-K logits exact (n * k), null otherwise: the truth's margins and values.
  private double[] topLogits64;

  /** An empty recording with top-{@code k} per step. */
  public Steps(int k, boolean fullLogits) {
    if (k < 1) {
      throw new IllegalArgumentException("top-K (" + k + ") must be >= 1");
    }
    this.k = k;
    int cap = 16;
    chosenLogit = new float[cap];
    topIds = new int[cap * k];
    topLogits = new float[cap * k];
    logSumExp = new float[cap];
    entropy = new float[cap];
    draw = new double[cap];
    drawMargin = new float[cap];
    digest = new long[cap];
    full = fullLogits ? new float[cap][] : null;
  }

  /** Top-K size. */
  public int k() {
    return k;
  }

  /** Steps recorded. */
  public int size() {
    return n;
  }

  public boolean hasFullLogits() {
    return full != null;
  }

  /**
   * Appends one step.
   *
   * @param ids the top-K ids, largest logit first ({@code k} of them, or fewer only when the
   *     vocabulary is smaller; then padded with -1 and NaN)
   */
  public void add(
      float chosen,
      int[] ids,
      float[] logits,
      float lse,
      float ent,
      double u,
      float margin,
      long dig,
      float[] fullVector) {
    if (n == chosenLogit.length) {
      grow();
    }
    chosenLogit[n] = chosen;
    for (int j = 0; j < k; j++) {
      topIds[n * k + j] = j < ids.length ? ids[j] : -1;
      topLogits[n * k + j] = j < logits.length ? logits[j] : Float.NaN;
    }
    logSumExp[n] = lse;
    entropy[n] = ent;
    draw[n] = u;
    drawMargin[n] = margin;
    digest[n] = dig;
    if (full != null) {
      full[n] = fullVector.clone();
    }
    n++;
  }

  /**
   * Sets step {@code i}'s top-K logits in float64 (a float64 engine's, exact; the float32 columns
   * hold them rounded), in the order of its top ids.
   */
  public void setExact(int i, double[] values) {
    check(i);
    if (topLogits64 == null) {
      topLogits64 = new double[chosenLogit.length * k];
      Arrays.fill(topLogits64, Double.NaN);
    }
    if (topLogits64.length < chosenLogit.length * k) {
      int old = topLogits64.length;
      topLogits64 = Arrays.copyOf(topLogits64, chosenLogit.length * k);
      Arrays.fill(topLogits64, old, topLogits64.length, Double.NaN);
    }
    for (int j = 0; j < k; j++) {
      topLogits64[i * k + j] = j < values.length ? values[j] : Double.NaN;
    }
  }

  /** Drops the float64 column (a truth that could not be computed for every step). */
  public void clearExact() {
    topLogits64 = null;
  }

  /** Whether the steps carry float64 top-K logits (a float64 engine's run). */
  public boolean hasExact() {
    return topLogits64 != null;
  }

  /** The float64 logit of step {@code i}'s rank-{@code j} token, or NaN when not recorded. */
  public double topLogit64(int i, int j) {
    check(i);
    return topLogits64 == null || i * k + j >= topLogits64.length
        ? Double.NaN
        : topLogits64[i * k + j];
  }

  /** Step {@code i}'s top-1 minus top-2 logit in float64, or NaN when not recorded. */
  public double margin64(int i) {
    return k < 2 ? Double.NaN : topLogit64(i, 0) - topLogit64(i, 1);
  }

  /**
   * Appends one step of a provider (logprobs instead of logits, token texts instead of a
   * vocabulary): {@code logits} are the alternatives' logprobs, {@code ids} their {@code
   * RemoteToken.idOf} text ids.
   *
   * @param text the chosen token's text
   * @param tokenBytes its bytes as the API gave them, or null
   * @param alternatives the alternatives' texts, in the order of {@code ids}
   */
  public void addText(
      float chosen,
      int[] ids,
      float[] logits,
      String text,
      byte[] tokenBytes,
      String[] alternatives) {
    if (texts == null) {
      if (n > 0) {
        throw new IllegalStateException("a recording holds either local or provider steps");
      }
      texts = new String[chosenLogit.length];
      topTexts = new String[chosenLogit.length * k];
      bytes = new String[chosenLogit.length];
    }
    int at = n;
    add(chosen, ids, logits, 0f, Float.NaN, Double.NaN, Float.NaN, 0L, null);
    if (texts.length < chosenLogit.length) {
      texts = Arrays.copyOf(texts, chosenLogit.length);
      topTexts = Arrays.copyOf(topTexts, chosenLogit.length * k);
      bytes = Arrays.copyOf(bytes, chosenLogit.length);
    }
    texts[at] = text;
    bytes[at] = tokenBytes == null ? null : Base64.getEncoder().encodeToString(tokenBytes);
    for (int j = 0; j < k; j++) {
      topTexts[at * k + j] = j < alternatives.length ? alternatives[j] : null;
    }
  }

  /** Whether these are a provider's steps (token texts, logprobs for logits). */
  public boolean hasTexts() {
    return texts != null;
  }

  /** The chosen token's text at step i (provider steps), else null. */
  public String text(int i) {
    return texts == null ? null : texts[check(i)];
  }

  /** The j-th alternative's text at step i (provider steps), else null. */
  public String topText(int i, int j) {
    return topTexts == null ? null : topTexts[check(i) * k + j];
  }

  /** The chosen token's bytes at step i as base64, when the provider gave them; else null. */
  public String bytes(int i) {
    return bytes == null ? null : bytes[check(i)];
  }

  void setTexts(String[] texts, String[] topTexts, String[] bytes) {
    this.texts = texts;
    this.topTexts = topTexts;
    this.bytes = bytes;
  }

  private void grow() {
    int cap = chosenLogit.length * 2;
    chosenLogit = Arrays.copyOf(chosenLogit, cap);
    topIds = Arrays.copyOf(topIds, cap * k);
    topLogits = Arrays.copyOf(topLogits, cap * k);
    logSumExp = Arrays.copyOf(logSumExp, cap);
    entropy = Arrays.copyOf(entropy, cap);
    draw = Arrays.copyOf(draw, cap);
    drawMargin = Arrays.copyOf(drawMargin, cap);
    digest = Arrays.copyOf(digest, cap);
    if (full != null) {
      full = Arrays.copyOf(full, cap);
    }
  }

  public float chosenLogit(int i) {
    return chosenLogit[check(i)];
  }

  /** The j-th largest logit's id at step i (j = 0 is the top-1). */
  public int topId(int i, int j) {
    return topIds[check(i) * k + j];
  }

  public float topLogit(int i, int j) {
    return topLogits[check(i) * k + j];
  }

  /** Top-1 minus top-2 logit at step i (raw logits, before temperature). */
  public float margin(int i) {
    // One recorded alternative (top-K 1, or a provider that gave one): no margin to measure.
    return k < 2 ? Float.NaN : topLogits[check(i) * k] - topLogits[i * k + 1];
  }

  public float logSumExp(int i) {
    return logSumExp[check(i)];
  }

  public float entropy(int i) {
    return entropy[check(i)];
  }

  /** The uniform draw of a sampled step; NaN on greedy steps. */
  public double draw(int i) {
    return draw[check(i)];
  }

  /** How close the draw came to changing the token; NaN on greedy steps. */
  public float drawMargin(int i) {
    return drawMargin[check(i)];
  }

  /** First 8 bytes of SHA-256 over the step's whole logit vector (float32 little-endian). */
  public long digest(int i) {
    return digest[check(i)];
  }

  /** The step's whole logit vector, or null when not recorded. */
  public float[] fullLogits(int i) {
    return full == null ? null : full[check(i)];
  }

  private int check(int i) {
    if (i < 0 || i >= n) {
      throw new IndexOutOfBoundsException("step " + i + " of " + n);
    }
    return i;
  }

  /** Builds a recording from decoded columns (the reader's side). */
  static Steps of(
      int k,
      int n,
      float[] chosen,
      int[] ids,
      float[] logits,
      float[] lse,
      float[] ent,
      double[] draws,
      float[] margins,
      long[] digests,
      float[][] fullVectors) {
    Steps s = new Steps(k, fullVectors != null);
    s.n = n;
    s.chosenLogit = chosen;
    s.topIds = ids;
    s.topLogits = logits;
    s.logSumExp = lse;
    s.entropy = ent;
    s.draw = draws;
    s.drawMargin = margins;
    s.digest = digests;
    s.full = fullVectors;
    return s;
  }

  // Package access for the codec.
  double[] exactColumn() {
    return topLogits64;
  }

  void exactColumn(double[] v) {
    topLogits64 = v;
  }

  float[] chosenColumn() {
    return chosenLogit;
  }

  int[] idColumn() {
    return topIds;
  }

  float[] logitColumn() {
    return topLogits;
  }

  float[] lseColumn() {
    return logSumExp;
  }

  float[] entropyColumn() {
    return entropy;
  }

  double[] drawColumn() {
    return draw;
  }

  float[] marginColumn() {
    return drawMargin;
  }

  long[] digestColumn() {
    return digest;
  }

  float[][] fullColumn() {
    return full;
  }
}
