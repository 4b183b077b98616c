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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
   * What the peer printed: torch's version and BLAS (its build setting, the library it loaded), the
   * CPU capability ATen dispatches to, its threads, tokens/s by batch, and the top-5 (id, logit)
   * after the first prompt.
   */
  record Peer(
      String torch,
      String blasInfo,
      String blasLibrary,
      String cpuCapability,
      Map<Integer, Integer> threads,
      Map<Integer, Double> tokensPerSecond,
      List<double[]> firstTop5) {

    /**
     * Whether torch runs on a reference BLAS: built against the generic interface (Debian's) with
     * no optimised library loaded behind it. No user runs PyTorch like that; a ratio against it
     * flatters anyone.
     */
    boolean referenceBlas() {
      String lib = blasLibrary.toLowerCase(Locale.ROOT);
      boolean optimised =
          lib.contains("openblas")
              || lib.contains("mkl")
              || lib.contains("blis")
              || lib.contains("atlas")
              || lib.contains("accelerate");
      return blasInfo.equals("generic") && !optimised;
    }
  }

  /** How to leave the reference BLAS, said where a ratio is refused. */
  static final String OPENBLAS_HINT =
      "install OpenBLAS (Debian: sudo apt-get install libopenblas0-pthread; libblas.so.3 then"
          + " points at it) and run again";

  /**
   * Runs the peer (torch_peer.py, shipped in the jar: plain PyTorch as a careful user writes it) on
   * the checkpoint in {@code dir}, batches 1 and 8. OPENBLAS_CORETYPE is unset for it: a preset
   * core type would hold OpenBLAS to another CPU's kernels.
   */
  Peer peer(Path dir) throws IOException {
    Path script = dir.resolve("torch_peer.py");
    try (var in = BenchTorch.class.getResourceAsStream("torch_peer.py")) {
      if (in == null) {
        throw new IllegalStateException("torch_peer.py is missing from the jar");
      }
      Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    ProcessBuilder pb =
        new ProcessBuilder(
            python,
            script.toString(),
            dir.toString(),
            "16",
            String.valueOf(steps),
            // The given thread count, else 1 and every core, each batch keeping its faster: torch's
            // own default can be fewer than the cores (which would flatter us), and its threads
            // beside OpenBLAS's own can oversubscribe them (which would too).
            threads > 0
                ? String.valueOf(threads)
                : "1," + Runtime.getRuntime().availableProcessors(),
            "1",
            "8");
    pb.environment().remove("OPENBLAS_CORETYPE");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc;
    try {
      rc = p.waitFor();
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while the torch peer ran", e);
    }
    String last = output.strip().lines().reduce((a, b) -> b).orElse("");
    if (rc != 0 || !last.startsWith("{")) {
      throw new io.tokendrift.engine.EnvironmentException(
          "--torch-python "
              + python
              + ": the plain-PyTorch peer failed (exit "
              + rc
              + "): "
              + output.strip());
    }
    var n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(last);
    Map<Integer, Double> tps = new java.util.TreeMap<>();
    n.get("tokens_per_second")
        .fields()
        .forEachRemaining(e -> tps.put(Integer.parseInt(e.getKey()), e.getValue().asDouble()));
    List<double[]> top = new ArrayList<>();
    n.get("first_top5")
        .forEach(x -> top.add(new double[] {x.get(0).asDouble(), x.get(1).asDouble()}));
    return new Peer(
        n.get("torch").asText(),
        n.get("blas_info").asText(),
        n.get("blas_library").asText(),
        n.get("cpu_capability").asText(),
        threadsOf(n.get("threads")),
        tps,
        top);
  }

  private static Map<Integer, Integer> threadsOf(com.fasterxml.jackson.databind.JsonNode n) {
    Map<Integer, Integer> m = new java.util.TreeMap<>();
    n.fields().forEachRemaining(e -> m.put(Integer.parseInt(e.getKey()), e.getValue().asInt()));
    return m;
  }

  /**
   * The checkpoint just measured — {@code folder} itself, or, when that is null, a random one
   * {@code writer} writes to a temporary folder (the bundled tokenizer stands in; the benchmark
   * feeds token ids) and removed after — decoded by the peer (plain PyTorch, as a careful user
   * writes it) and on engine torch (our worker), and our tokens/s at batch 1 and 8 ({@code ours1},
   * {@code ours8}) printed against the peer.
   *
   * @return false when no ratio was quoted: torch runs on a reference BLAS, or the peer's logits
   *     are not the model's
   */
  boolean compare(PrintWriter out, Path folder, FolderWriter writer, double ours1, double ours8)
      throws IOException {
    Path dir = folder != null ? folder : Files.createTempDirectory("tokendrift-bench-torch");
    Path peerDir = Files.createTempDirectory("tokendrift-bench-peer");
    try {
      if (writer != null) {
        writer.write(dir);
        Files.copy(
            BundledModel.openOr(Path.of("bundled")).dir().resolve(ModelDir.TOKENIZER),
            dir.resolve(ModelDir.TOKENIZER));
      }
      for (String f : List.of(ModelDir.CONFIG, ModelDir.WEIGHTS)) {
        if (Files.exists(dir.resolve(f))) { // sharded weights: the peer says what it cannot read
          try {
            Files.createLink(peerDir.resolve(f), dir.resolve(f)); // no copy of a large model
          } catch (IOException | UnsupportedOperationException e) {
            Files.copy(dir.resolve(f), peerDir.resolve(f)); // another file system
          }
        }
      }
      EngineSpec torch = spec(python);
      EngineOptions base = EngineOptions.DEFAULTS.withThreads(threads);
      String version;
      DecodeBenchmark.Throughput b1;
      DecodeBenchmark.Throughput b8;
      float[] first;
      try (Engine e = Engines.load(torch, ModelDir.open(dir)).open(base)) {
        version = e.settings().getOrDefault("torch.version", "?");
        DecodeBenchmark b = new DecodeBenchmark(e);
        b.cached(1, 16, steps, SamplingSettings.GREEDY);
        b.cached(8, 16, steps, SamplingSettings.GREEDY);
        b1 = b.cached(1, 16, steps, SamplingSettings.GREEDY);
        b8 = b.cached(8, 16, steps, SamplingSettings.GREEDY);
        first = b.firstLogits(16);
      }
      Peer peer = peer(peerDir);
      boolean coreType = System.getenv("OPENBLAS_CORETYPE") != null;
      out.printf(
          Locale.ROOT,
          "torch %s: BLAS %s (build: %s), CPU capability %s%s%n",
          peer.torch(),
          peer.blasLibrary(),
          peer.blasInfo(),
          peer.cpuCapability(),
          coreType ? "; OPENBLAS_CORETYPE unset for the peer" : "");
      double worst = 0;
      for (double[] t : peer.firstTop5()) {
        worst = Math.max(worst, Math.abs(first[(int) t[0]] - t[1]));
      }
      double p1 = peer.tokensPerSecond().getOrDefault(1, Double.NaN);
      double p8 = peer.tokensPerSecond().getOrDefault(8, Double.NaN);
      out.printf(
          Locale.ROOT,
          "torch engine (our worker), batch 1 %9.1f tokens/s, batch 8 %9.1f tokens/s%n",
          b1.tokensPerSecond(),
          b8.tokensPerSecond());
      out.printf(
          Locale.ROOT,
          "plain-PyTorch peer (preallocated KV cache, fused qkv), batch 1 %9.1f tokens/s (%d"
              + " thread(s)), batch 8 %9.1f tokens/s (%d); its top-5 logits within %.1e of the"
              + " worker's%n",
          p1,
          peer.threads().getOrDefault(1, 0),
          p8,
          peer.threads().getOrDefault(8, 0),
          worst);
      out.flush();
      if (!(worst <= 1e-3)) {
        out.printf(
            Locale.ROOT,
            "no ratio quoted: the peer's logits differ from the model's by %.1e (more than 1e-3)%n",
            worst);
        return false;
      }
      if (peer.referenceBlas()) {
        out.printf(
            Locale.ROOT,
            "no ratio quoted: torch %s runs on the reference BLAS (%s), which no user runs it on;"
                + " %s%n",
            version,
            peer.blasLibrary(),
            OPENBLAS_HINT);
        return false;
      }
      out.printf(
          Locale.ROOT,
          "ours/peer batch 1 %.2fx, batch 8 %.2fx (ours/worker %.2fx, %.2fx)%n",
          ours1 / p1,
          ours8 / p8,
          ours1 / b1.tokensPerSecond(),
          ours8 / b8.tokensPerSecond());
      out.flush();
      return true;
    } finally {
      for (Path d : folder == null ? List.of(dir, peerDir) : List.of(peerDir)) {
        Outputs.deleteTree(d);
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
