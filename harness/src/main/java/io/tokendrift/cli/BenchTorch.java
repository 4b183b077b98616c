package io.tokendrift.cli;

import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.engine.DecodeBenchmark;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.LlamaWeights;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.Safetensors;
import io.tokendrift.model.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench --torch-python}: the checkpoint just measured, decoded on engine torch with the same
 * prompts, steps and threads, and our tokens/s printed against it.
 */
final class BenchTorch {
  /** Writes a random checkpoint into a folder the torch worker can load. */
  interface FolderWriter {
    void write(Path dir) throws IOException;
  }

  private final String python;
  private final int threads;
  private final int steps;

  /**
   * @param python the interpreter whose PyTorch install engine torch runs
   * @param threads PyTorch intra-op threads; 0 for the default
   * @param steps decode steps per measurement
   */
  BenchTorch(String python, int threads, int steps) {
    this.python = python;
    this.threads = threads;
    this.steps = steps;
  }

  /** Engine torch on {@code python}. */
  static EngineSpec spec(String python) {
    return new EngineSpec("torch", Map.of("python", python));
  }

  /**
   * The checkpoint just measured — {@code folder} itself, or, when that is null, a random one
   * {@code writer} writes to a temporary folder (the bundled tokenizer stands in; the benchmark
   * feeds token ids) and removed after — decoded on engine torch, and our tokens/s at batch 1 and 8
   * ({@code ours1}, {@code ours8}) printed against it.
   */
  void compare(PrintWriter out, Path folder, FolderWriter writer, double ours1, double ours8)
      throws IOException {
    Path dir = folder != null ? folder : Files.createTempDirectory("tokendrift-bench-torch");
    try {
      if (writer != null) {
        writer.write(dir);
        Files.copy(
            BundledModel.openOr(Path.of("bundled")).dir().resolve(ModelDir.TOKENIZER),
            dir.resolve(ModelDir.TOKENIZER));
      }
      EngineSpec torch = spec(python);
      EngineOptions base = EngineOptions.DEFAULTS.withThreads(threads);
      String version;
      DecodeBenchmark.Throughput b1;
      DecodeBenchmark.Throughput b8;
      try (Engine e = Engines.load(torch, ModelDir.open(dir)).open(base)) {
        version = e.settings().getOrDefault("torch.version", "?");
        DecodeBenchmark b = new DecodeBenchmark(e);
        b.cached(1, 16, steps, SamplingSettings.GREEDY);
        b.cached(8, 16, steps, SamplingSettings.GREEDY);
        b1 = b.cached(1, 16, steps, SamplingSettings.GREEDY);
        b8 = b.cached(8, 16, steps, SamplingSettings.GREEDY);
      }
      out.printf(
          Locale.ROOT,
          "torch %s, batch 1 %9.1f tokens/s  (forward %.2f ms); ours/torch %.2fx%n",
          version,
          b1.tokensPerSecond(),
          b1.forwardMillis(),
          ours1 / b1.tokensPerSecond());
      out.printf(
          Locale.ROOT,
          "torch %s, batch 8 %9.1f tokens/s  (forward %.2f ms); ours/torch %.2fx%n",
          version,
          b8.tokensPerSecond(),
          b8.forwardMillis(),
          ours8 / b8.tokensPerSecond());
      out.flush();
    } finally {
      if (folder == null) {
        try (var s = Files.walk(dir)) {
          for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
  }

  /** Writes GPT-2 weights {@code w} as a checkpoint folder. */
  static FolderWriter gpt2Folder(Gpt2Weights w) {
    return dir -> {
      List<Tensor> all = new ArrayList<>();
      for (var e : Gpt2Weights.expectedShapes(w.config())) {
        all.add(w.get(e.getKey()));
      }
      if (!w.config().tiedHead()) {
        all.add(w.lmHead());
      }
      writeFolder(dir, w.config().toJson(), all);
    };
  }

  /** Writes Llama-family weights {@code w} as a checkpoint folder. */
  static FolderWriter llamaFolder(LlamaWeights w) {
    return dir -> {
      List<Tensor> all = new ArrayList<>();
      for (var e : LlamaWeights.expectedShapes(w.config())) {
        all.add(w.get(e.getKey()));
      }
      if (!w.config().tiedHead()) {
        all.add(w.lmHead());
      }
      writeFolder(dir, w.config().toJson(), all);
    };
  }

  private static void writeFolder(Path dir, String config, List<Tensor> tensors)
      throws IOException {
    Files.writeString(dir.resolve(ModelDir.CONFIG), config);
    Safetensors.write(dir.resolve(ModelDir.WEIGHTS), tensors, Map.of("format", "pt"));
  }
}
