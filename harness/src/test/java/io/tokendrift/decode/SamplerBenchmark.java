package io.tokendrift.decode;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One sampling step at GPT-2's vocabulary (50,257) with the seed's settings, fast pipeline against
 * full sorts. Run with {@code mvn -pl harness -Pbench test-compile exec:exec} (see README).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SamplerBenchmark {
  @Param({"factual", "creative", "nucleus"})
  public String setting;

  private float[] logits;
  private SamplingSettings settings;
  private int step;
  private final Draws draws = new Draws(1, 2);

  @Setup
  public void setup() {
    // The seed's example input: torch.randn(vocab_size).
    SplittableRandom rnd = new SplittableRandom(50257);
    logits = new float[50257];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) rnd.nextGaussian();
    }
    settings =
        switch (setting) {
          case "factual" -> SamplingSettings.of(0.2, 10, 0.9);
          case "creative" -> SamplingSettings.of(0.9, 50, 0.95);
          case "nucleus" -> SamplingSettings.of(1.0, 0, 0.9);
          default -> throw new IllegalArgumentException(setting);
        };
  }

  @Benchmark
  public int fast() {
    return Sampler.sample(logits, settings, draws, step++).token();
  }

  @Benchmark
  public int fullSortPrimitive() {
    Logits.check(logits, step);
    Kept k = FullSortPipeline.filterPrimitiveSort(logits, settings);
    return Sampler.inverseCdf(k, draws.uniform(step++)).token();
  }

  @Benchmark
  public int fullSortBoxed() {
    Logits.check(logits, step);
    Kept k = FullSortPipeline.filter(logits, settings);
    return Sampler.inverseCdf(k, draws.uniform(step++)).token();
  }
}
