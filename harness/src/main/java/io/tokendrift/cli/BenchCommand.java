package io.tokendrift.cli;

import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.engine.DecodeBenchmark;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.LlamaConfig;
import io.tokendrift.model.LlamaWeights;
import io.tokendrift.model.ModelConfig;
import io.tokendrift.model.ModelDir;
import io.tokendrift.tiny.RandomWeights;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Decode speed of the DJL engine at batch 1 and 8, cached and recomputed, default and
 * batch-invariant.
 */
@Command(
    name = "bench",
    header = "Measure decode, analysis or serving speed on this machine.",
    footer = {"", "Example:", "  tokendrift bench --skip-gpt2-small"},
    mixinStandardHelpOptions = true,
    description =
        "Measure decode speed: tokens/s at batch 1 and 8 (KV cache vs full recompute), step cost at position 16 vs 256, time outside the forward pass, batch-invariant mode's cost, and the memory-bandwidth bound. Models: checkpoints of the --shapes with seeded random weights (not stored), or --model DIR.")
final class BenchCommand implements Callable<Integer> {
  @Mixin EngineFlags engineFlags = new EngineFlags();

  /**
   * The bundled model's planned shape (4 layers, 128 wide, 4 heads), with room for position 256.
   */
  static final Gpt2Config TINY = new Gpt2Config(1024, 512, 128, 4, 4, 512, 1e-5, true, 1023);

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description =
          "Benchmark this model folder ('bundled' for the bundled one) instead of the random ones.")
  Path model;

  @Option(
      names = "--skip-gpt2-small",
      description = "Only the tiny-shaped model (the 124M one takes a few minutes).")
  boolean skipSmall;

  /** The random checkpoints --shapes may name. */
  static final List<String> SHAPES = List.of("tiny", "gpt2-small", "smollm2-135m");

  @Option(
      names = "--shapes",
      split = ",",
      paramLabel = "SHAPE",
      description =
          "Random checkpoints to measure, comma-separated: tiny (GPT-2, 4 layers of 128),"
              + " gpt2-small (124M), smollm2-135m (a Llama of SmolLM2-135M's shape). Default:"
              + " tiny,gpt2-small.")
  List<String> shapes;

  @Option(
      names = "--torch-python",
      paramLabel = "PYTHON",
      description =
          "Also decode the same checkpoint in this interpreter's PyTorch (random weights are"
              + " written to a temporary folder), on engine torch and on a plain-PyTorch peer"
              + " (preallocated KV cache, fused qkv), and print our speed against the peer, with"
              + " the BLAS torch loaded; on a reference BLAS no ratio is quoted (exit 3).")
  String torchPython;

  @Option(
      names = "--steps",
      defaultValue = "32",
      description = "Decode steps per measurement (default: 32).")
  int steps;

  @Option(
      names = "--threads",
      defaultValue = "0",
      description = "PyTorch intra-op threads; 0 for the default.")
  int threads;

  @Option(
      names = "--analysis-runs",
      paramLabel = "N",
      description =
          "Instead: time the analysis of a generated trace of N runs x --analysis-steps at top-16, and the heap it needs (runs/s, heap after collections, what the finished analysis holds per run).")
  int analysisRuns;

  @Option(
      names = "--serve",
      description =
          "Instead: load a local `serve` over loopback (--serve-clients x --serve-requests completions of 16 tokens), continuous batching vs one at a time, both modes.")
  boolean serve;

  @Option(names = "--serve-clients", defaultValue = "64", description = "Concurrent clients.")
  int serveClients;

  @Option(names = "--serve-requests", defaultValue = "8", description = "Requests per client.")
  int serveRequests;

  @Option(
      names = "--analysis-steps",
      defaultValue = "256",
      paramLabel = "N",
      description = "Steps per generated run (default: 256).")
  int analysisSteps;

  @Option(
      names = "--analysis-shards",
      paramLabel = "K",
      description =
          "With --analysis-runs: deal the generated runs to K shard traces and time analysis by shards (each shard's extract and partial, the combine, its heap), checked byte for byte against one pass.")
  int analysisShards;

  @Option(
      names = "--keep-trace",
      paramLabel = "FILE",
      description =
          "With --analysis-runs: keep the generated trace as FILE (refused if FILE exists), to analyse it with `analyze`.")
  Path keepTrace;

  @Override
  public Integer call() throws Exception {
    if (serve) {
      return ServeBench.run(spec.commandLine().getOut(), serveClients, serveRequests);
    }
    if (analysisRuns > 0) {
      return analysisBench();
    }
    if (steps < 4) {
      throw new UserInputException("--steps (" + steps + ") must be >= 4");
    }
    PrintWriter out = spec.commandLine().getOut();
    List<String> wanted =
        shapes != null ? shapes : skipSmall ? List.of("tiny") : List.of("tiny", "gpt2-small");
    for (String sh : wanted) {
      if (!SHAPES.contains(sh)) {
        throw new UserInputException(
            "--shapes: '" + sh + "' is not known; allowed: " + String.join(", ", SHAPES));
      }
    }
    if (torchPython != null) {
      // Before any measuring: a missing interpreter or torch is exit 3 now, named by the flag.
      EngineSpec torch = BenchTorch.spec(torchPython);
      try {
        Engines.check(torch).gpuCount(torch);
      } catch (io.tokendrift.engine.EnvironmentException e) {
        throw new io.tokendrift.engine.EnvironmentException(
            "--torch-python "
                + torchPython
                + ": "
                + e.getMessage()
                    .replace("engine torch: ", "")
                    .replace("with the engine option python", "with --torch-python"),
            e);
      }
    }
    double copy = DecodeBenchmark.copyBandwidthGbPerSecond();
    double read = DecodeBenchmark.readBandwidthGbPerSecond();
    double bandwidth = Math.max(copy, read);
    out.printf(
        Locale.ROOT,
        "machine: %d cores, memory bandwidth %.1f GB/s read (best of 6 sums over 1 GiB, all cores), %.1f GB/s"
            + " copied (read + write); the bound uses %.1f%n",
        Runtime.getRuntime().availableProcessors(),
        read,
        copy,
        bandwidth);
    EngineSpec engineSpec = engineFlags.spec();
    engineFlags.refuseUnsupported(EngineOptions.DEFAULTS.withThreads(threads), 8, 0);
    if (model != null) {
      ModelDir dir = BundledModel.openOr(model);
      ModelConfig c = dir.config();
      decodeBench(
          out,
          String.valueOf(model.getFileName()) + " (" + c.modelType() + ")",
          shapeLine(c),
          parameters(c),
          c.contextLength(),
          Engines.load(engineSpec, dir),
          bandwidth);
      besideTorch(out, dir.dir(), null);
      return torchVerdict(out);
    }
    for (String sh : wanted) {
      switch (sh) {
        case "tiny" -> {
          Gpt2Weights w = RandomWeights.of(TINY, 1, 0.02);
          decodeBench(
              out,
              "tiny-shaped (random)",
              shapeLine(TINY),
              parameters(TINY),
              TINY.contextLength(),
              Engines.load(engineSpec, w),
              bandwidth);
          besideTorch(out, null, BenchTorch.gpt2Folder(w));
        }
        case "gpt2-small" -> {
          Gpt2Config c = RandomWeights.GPT2_SMALL;
          Gpt2Weights w = RandomWeights.of(c, 1, 0.02);
          decodeBench(
              out,
              "gpt2-small-shaped (random, 124M)",
              shapeLine(c),
              parameters(c),
              c.contextLength(),
              Engines.load(engineSpec, w),
              bandwidth);
          besideTorch(out, null, BenchTorch.gpt2Folder(w));
        }
        default -> {
          LlamaConfig c = RandomWeights.SMOLLM2_135M;
          LlamaWeights w = RandomWeights.llama(c, 1, 0.02);
          decodeBench(
              out,
              "smollm2-135m-shaped Llama (random)",
              shapeLine(c),
              parameters(c),
              c.contextLength(),
              Engines.load(engineSpec, w),
              bandwidth);
          besideTorch(out, null, BenchTorch.llamaFolder(w));
        }
      }
    }
    return torchVerdict(out);
  }

  /** Exit 3 when a --torch-python comparison could quote no ratio (said above), else 0. */
  private int torchVerdict(PrintWriter out) {
    if (unquoted) {
      out.println("bench: measured, but no ratio against torch is quoted (reasons above): exit 3");
      return Main.ENVIRONMENT;
    }
    return Main.OK;
  }

  /** Times the analysis of a generated trace (--analysis-runs). */
  private int analysisBench() throws Exception {
    if (analysisShards > 0) {
      return AnalysisBench.shards(
          spec.commandLine().getOut(), analysisRuns, analysisSteps, analysisShards);
    }
    return AnalysisBench.run(spec.commandLine().getOut(), analysisRuns, analysisSteps, keepTrace);
  }

  private static long parameters(ModelConfig c) {
    return c instanceof Gpt2Config g
        ? Gpt2Weights.parameterCount(g)
        : LlamaWeights.parameterCount((LlamaConfig) c);
  }

  private static String shapeLine(ModelConfig c) {
    if (c instanceof Gpt2Config g) {
      return String.format(
          Locale.ROOT, "%d layers, width %d, vocab %d", g.layers(), g.width(), g.vocabSize());
    }
    LlamaConfig l = (LlamaConfig) c;
    return String.format(
        Locale.ROOT,
        "%s, %d layers, width %d, %d/%d heads of %d, SwiGLU %d, vocab %d",
        l.modelType(),
        l.layers(),
        l.hiddenSize(),
        l.heads(),
        l.kvHeads(),
        l.headDim(),
        l.intermediateSize(),
        l.vocabSize());
  }

  /** The last {@link #decodeBench}'s tokens/s at batch 1 and 8, for the torch comparison. */
  private double lastBatch1;

  private double lastBatch8;

  /** Whether a --torch-python comparison could not quote its ratio (exit 3 at the end). */
  private boolean unquoted;

  /** With --torch-python: the checkpoint just measured, on the torch peer beside ours. */
  private void besideTorch(PrintWriter out, Path folder, BenchTorch.FolderWriter writer)
      throws java.io.IOException {
    if (torchPython != null) {
      unquoted |=
          !new BenchTorch(torchPython, threads, steps)
              .compare(out, folder, writer, lastBatch1, lastBatch8);
    }
  }

  /** Batch-8 measurements of each mode, alternated, for the invariant cost: at least, at most. */
  private static final int MIN_PAIRS = 5;

  private static final int MAX_PAIRS = 41;

  /** The measurement with the median tokens/s. */
  private static DecodeBenchmark.Throughput median(List<DecodeBenchmark.Throughput> t) {
    List<DecodeBenchmark.Throughput> s = new ArrayList<>(t);
    s.sort(java.util.Comparator.comparingDouble(DecodeBenchmark.Throughput::tokensPerSecond));
    return s.get(s.size() / 2);
  }

  /** Decode speed of one checkpoint on the chosen engine, default and batch-invariant. */
  private void decodeBench(
      PrintWriter out,
      String name,
      String shape,
      long params,
      int contextLength,
      EngineLoader loader,
      double bandwidth) {
    SamplingSettings greedy = SamplingSettings.GREEDY;
    out.printf(Locale.ROOT, "%n== %s: %s, %.1fM parameters ==%n", name, shape, params / 1e6);
    EngineOptions base = EngineOptions.DEFAULTS.withThreads(threads);
    try (Engine e = loader.open(base);
        Engine inv = loader.open(base.withBatchInvariant(true))) {
      DecodeBenchmark b = new DecodeBenchmark(e);
      // Warm-up: every measured path once, so JIT compilation and first-touch allocation stay
      // out.
      b.cached(1, 16, steps, greedy);
      b.cached(8, 16, steps, greedy);
      new DecodeBenchmark(inv).cached(8, 16, 4, greedy);
      b.recomputeTokensPerSecond(16, 4);
      // Late position: 256, or as late as a shorter context allows.
      int late = Math.min(256, contextLength - steps - 2);
      b.stepMillisAt(late, 4);
      var b1 = b.cached(1, 16, steps, greedy);
      // Batch 8 in both modes, alternated: at least five pairs and three seconds (a short model's
      // single pair moved its invariant cost from -54% to +113% between runs), each pair's cost
      // taken, the median reported with the middle half.
      DecodeBenchmark bi = new DecodeBenchmark(inv);
      List<DecodeBenchmark.Throughput> d8 = new ArrayList<>();
      List<DecodeBenchmark.Throughput> v8 = new ArrayList<>();
      List<Double> pairCosts = new ArrayList<>();
      long start = System.nanoTime();
      while (d8.size() < MIN_PAIRS
          || (System.nanoTime() - start < 3_000_000_000L && d8.size() < MAX_PAIRS)) {
        var d = b.cached(8, 16, steps, greedy);
        var v = bi.cached(8, 16, steps, greedy);
        d8.add(d);
        v8.add(v);
        pairCosts.add(100 * (d.tokensPerSecond() / v.tokensPerSecond() - 1));
      }
      var b8 = median(d8);
      var i8 = median(v8);
      double[] costs = pairCosts.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      int pairs = costs.length;
      double recompute = b.recomputeTokensPerSecond(16, Math.min(steps, 16));
      lastBatch1 = b1.tokensPerSecond();
      lastBatch8 = b8.tokensPerSecond();
      double at16 = b.stepMillisAt(16, steps);
      double at256 = b.stepMillisAt(late, steps);
      out.printf(
          Locale.ROOT,
          "batch 1, KV cache      %9.1f tokens/s  (forward %.2f ms, outside %.3f ms = %.1f%% of a step)%n",
          b1.tokensPerSecond(),
          b1.forwardMillis(),
          b1.outsideMillis(),
          100 * b1.outsideShare());
      out.printf(
          Locale.ROOT,
          "batch 1, recompute     %9.1f tokens/s  (%s)%n",
          recompute,
          cacheRatio(b1.tokensPerSecond(), recompute));
      out.printf(
          Locale.ROOT,
          "batch 8, KV cache      %9.1f tokens/s  (forward %.2f ms, outside %.3f ms = %.1f%%)%n",
          b8.tokensPerSecond(),
          b8.forwardMillis(),
          b8.outsideMillis(),
          100 * b8.outsideShare());
      out.printf(
          Locale.ROOT,
          "batch 8, invariant     %9.1f tokens/s  (cost of batch-invariant mode: %+.1f%% time per token, the median of %d alternated pairs, middle half %+.1f%% to %+.1f%%; Thinking Machines +61.5%%, SGLang +34%%)%n",
          i8.tokensPerSecond(),
          costs[pairs / 2],
          pairs,
          costs[pairs / 4],
          costs[(3 * pairs) / 4]);
      out.printf(
          Locale.ROOT,
          "step at position 16    %9.2f ms; at %d: %.2f ms (ratio %.2f, target <= 1.5)%n",
          at16,
          late,
          at256,
          at256 / at16);
      double bytesPerToken = params * 4.0;
      double bound = bandwidth * 1e9 / bytesPerToken;
      out.printf(
          Locale.ROOT,
          "bandwidth bound        %9.1f tokens/s at batch 1 (%.0f MB of fp32 weights per token); measured is %.0f%% of it%n",
          bound,
          bytesPerToken / 1e6,
          100 * b1.tokensPerSecond() / bound);
      out.flush();
    }
  }

  /**
   * The KV cache against recomputing the prefix, in words that stay true either way: on a model as
   * small as the bundled one, recomputing a short prefix can beat the cache's bookkeeping.
   */
  static String cacheRatio(double cached, double recompute) {
    double r = cached / recompute;
    return r >= 1
        ? String.format(Locale.ROOT, "KV cache is %.1fx faster", r)
        : String.format(
            Locale.ROOT,
            "KV cache is %.1fx slower: at this model size recomputing the prefix costs less than"
                + " the cache's bookkeeping",
            1 / r);
  }
}
