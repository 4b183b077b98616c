package io.tokendrift.engine;

import io.tokendrift.decode.Choice;
import io.tokendrift.decode.Draws;
import io.tokendrift.decode.LogitStats;
import io.tokendrift.decode.Sampler;
import io.tokendrift.decode.SamplingSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decode-speed measurements of one engine: tokens per second with the KV cache and with full
 * recomputation, step cost by position, and the share of a step spent outside the forward pass.
 */
public final class DecodeBenchmark {
  private final Engine engine;

  @SuppressWarnings("unused")
  private volatile long blackhole;

  public DecodeBenchmark(Engine engine) {
    this.engine = engine;
  }

  /**
   * Throughput of cached decoding.
   *
   * @param tokensPerSecond generated tokens (all rows) per wall-clock second, prefill excluded
   * @param forwardMillis mean time of one batch step (forward pass and logits copy-out)
   * @param outsideMillis mean time per step outside it: sampling, statistics, the digest
   */
  public record Throughput(
      int batch, int steps, double tokensPerSecond, double forwardMillis, double outsideMillis) {
    /** Share of the step spent outside the forward pass. */
    public double outsideShare() {
      return outsideMillis / (forwardMillis + outsideMillis);
    }
  }

  /**
   * The logits after the first benchmark prompt of {@code promptLength} tokens (row 0 of {@link
   * #cached}): what another implementation timed on the same prompt must compute.
   */
  public float[] firstLogits(int promptLength) {
    try (Batch b = engine.start(List.of(prompt(promptLength, 0)))) {
      return b.logits(0).clone();
    }
  }

  /** Decodes {@code steps} tokens per row from prompts of {@code promptLength} tokens. */
  public Throughput cached(int batch, int promptLength, int steps, SamplingSettings s) {
    List<int[]> prompts = new ArrayList<>();
    for (int r = 0; r < batch; r++) {
      prompts.add(prompt(promptLength, r));
    }
    long forward = 0;
    long outside = 0;
    try (Batch b = engine.start(prompts)) {
      int[] tokens = new int[batch];
      boolean[] active = new boolean[batch];
      Arrays.fill(active, true);
      Draws draws = new Draws(1, 0);
      long sink = 0;
      for (int step = 0; step < steps; step++) {
        long t0 = System.nanoTime();
        float[][] rows = new float[batch][];
        for (int r = 0; r < batch; r++) {
          rows[r] = b.logits(r);
          Choice c = Sampler.sample(rows[r], s, draws, step);
          tokens[r] = c.token();
        }
        // As BatchDecoder records: each row's statistics on its own, rows in parallel.
        final int st = step;
        sink +=
            (rows[0].length >= BatchDecoder.PARALLEL_VOCAB
                    ? java.util.stream.IntStream.range(0, batch).parallel()
                    : java.util.stream.IntStream.range(0, batch))
                .mapToLong(r -> LogitStats.of(rows[r]).top1() + Arrays.hashCode(rows[r]) + st)
                .sum();
        long t1 = System.nanoTime();
        b.step(tokens, active);
        long t2 = System.nanoTime();
        outside += t1 - t0;
        forward += t2 - t1;
      }
      blackhole = sink; // a volatile write keeps the JIT from dropping the measured work
    }
    double seconds = (forward + outside) / 1e9;
    return new Throughput(
        batch, steps, batch * steps / seconds, forward / 1e6 / steps, outside / 1e6 / steps);
  }

  /** Tokens per second at batch 1 when every step recomputes the whole sequence (no KV cache). */
  public double recomputeTokensPerSecond(int promptLength, int steps) {
    int[] seq = prompt(promptLength, 0);
    long t0 = System.nanoTime();
    for (int step = 0; step < steps; step++) {
      int next;
      try (Batch b = engine.start(List.of(seq))) {
        next = io.tokendrift.decode.Logits.argmax(b.logits(0));
      }
      seq = Arrays.copyOf(seq, seq.length + 1);
      seq[seq.length - 1] = next;
    }
    return steps / ((System.nanoTime() - t0) / 1e9);
  }

  /**
   * Mean milliseconds of one batch-1 cached step taken right after a prompt of {@code position}
   * tokens.
   */
  public double stepMillisAt(int position, int steps) {
    try (Batch b = engine.start(List.of(prompt(position, 0)))) {
      b.step(new int[] {1}, new boolean[] {true}); // warm the shape
      long t0 = System.nanoTime();
      for (int i = 0; i < steps; i++) {
        b.step(new int[] {1}, new boolean[] {true});
      }
      return (System.nanoTime() - t0) / 1e6 / steps;
    }
  }

  private int[] prompt(int length, int salt) {
    int v = engine.capabilities().vocabSize();
    int[] p = new int[length];
    for (int i = 0; i < length; i++) {
      p[i] = (int) ((i * 7919L + salt * 104729L + 13) % v);
    }
    return p;
  }

  /**
   * Read bandwidth of this machine in GB/s: the best of several sums over a 1 GiB array (larger
   * than the last-level cache) by all cores. Decoding at batch 1 reads every weight once per token
   * and writes little, so this, not a copy's (which also writes every byte), bounds it.
   */
  public static double readBandwidthGbPerSecond() {
    int[] a = new int[256 << 20];
    Arrays.fill(a, 1);
    // Every core reads its own slice, as the forward pass's threads read the weights: one core
    // alone cannot draw the machine's bandwidth. Four independent sums per slice keep the loop
    // bound by memory, not by the add's latency.
    int cores = Runtime.getRuntime().availableProcessors();
    int slice = a.length / cores;
    double best = 0;
    long sink = 0;
    for (int i = 0; i < 6; i++) {
      long t0 = System.nanoTime();
      long s =
          java.util.stream.IntStream.range(0, cores)
              .parallel()
              .mapToLong(
                  c -> {
                    int s0 = 0;
                    int s1 = 0;
                    int s2 = 0;
                    int s3 = 0;
                    int end = (c + 1) * slice;
                    for (int k = c * slice; k + 3 < end; k += 4) {
                      s0 += a[k];
                      s1 += a[k + 1];
                      s2 += a[k + 2];
                      s3 += a[k + 3];
                    }
                    return (long) s0 + s1 + s2 + s3;
                  })
              .sum();
      double sec = (System.nanoTime() - t0) / 1e9;
      sink += s;
      best = Math.max(best, (double) slice * cores * 4.0 / sec / 1e9);
    }
    if (sink == 42) {
      System.out.print(""); // keeps the sums alive
    }
    return best;
  }

  /** Memory bandwidth of this machine in GB/s: the best of several 256 MB array copies. */
  public static double copyBandwidthGbPerSecond() {
    float[] a = new float[64 << 20];
    float[] b = new float[a.length];
    Arrays.fill(a, 1f);
    double best = 0;
    for (int i = 0; i < 6; i++) {
      long t0 = System.nanoTime();
      System.arraycopy(a, 0, b, 0, a.length);
      double s = (System.nanoTime() - t0) / 1e9;
      // A copy reads and writes every byte.
      best = Math.max(best, 2.0 * a.length * 4 / s / 1e9);
    }
    return best;
  }
}
