package io.tokendrift.engine.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.engine.Batch;
import io.tokendrift.engine.CrossPath;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.engine.Precision;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.LlamaCheckpoints;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.ModelFormatException;
import io.tokendrift.model.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The torch engine with a real worker process on the PyTorch of this machine (Debian's {@code
 * python3-torch}, which {@code .ci/run} installs): its CPU logits against the DJL engine's, and its
 * faults (a missing interpreter, an interpreter without torch, a killed worker, a stuck worker, a
 * broken folder). Skipped, with the reason, where no Python with torch is present.
 */
@Tag("numerics")
class TorchEngineTest {
  @TempDir static Path tmp;

  static final String PYTHON = TorchAvailable.PYTHON;

  static EngineSpec torch(String... kv) {
    Map<String, String> o = new java.util.TreeMap<>();
    o.put("python", PYTHON);
    for (int i = 0; i < kv.length; i += 2) {
      o.put(kv[i], kv[i + 1]);
    }
    return new EngineSpec("torch", o);
  }

  @BeforeAll
  static void needsTorch() throws Exception {
    TorchAvailable.assume();
  }

  @Test
  void cpuLogitsAgreeWithTheDjlEngineOver24GreedyStepsAtBatch1And4() {
    ModelDir dir = BundledModel.open();
    int[][] prompts;
    try (TextTokenizer tok = dir.tokenizer()) {
      prompts =
          new int[][] {
            tok.encode("The cat sat on the"),
            tok.encode("At night the sky is"),
            tok.encode("The capital of France is"),
            tok.encode("Once upon a time")
          };
    }
    try (Engine djl = Engines.open(EngineSpec.DEFAULT, dir, EngineOptions.DEFAULTS);
        Engine torch = Engines.open(torch(), dir, EngineOptions.DEFAULTS)) {
      assertThat(torch.settings())
          .containsKey("torch.version")
          .containsEntry("torch.device", "cpu");
      for (int size : new int[] {1, 4}) {
        List<int[]> rows = Arrays.asList(prompts).subList(0, size);
        // DJL is the reference; torch computes the same float32 model with other kernels, so the
        // bundled model's planted micro-ties (float64 margins 1e-7..1e-5; sky-12 on the second
        // prompt) may go either way: a flip passes there, and only there.
        CrossPath rule = new CrossPath("torch vs DJL, batch " + size, 1e-4);
        try (Batch a = djl.start(rows);
            Batch b = torch.start(rows)) {
          boolean[] active = new boolean[size];
          Arrays.fill(active, true);
          for (int s = 0; s < 24; s++) {
            int[] next = new int[size];
            for (int r = 0; r < size; r++) {
              next[r] = rule.step(a.logits(r), b.logits(r), "row " + r + " step " + s);
            }
            if (s == 0 && size == 1) {
              CrossPath.negativeControl(a.logits(0), 1e-4);
            }
            a.step(next, active);
            b.step(next, active);
          }
        }
        assertThat(rule.steps()).isEqualTo(24 * size);
        System.out.printf(
            java.util.Locale.ROOT,
            "torch vs DJL, batch %d: max |Δlogit| %.3g, %d near-tie flip(s) accepted%n",
            size,
            rule.worst(),
            rule.acceptedFlips());
      }
    }
  }

  @Test
  void aLlamaFolderInBf16RunsAndStaysNearFp32() throws Exception {
    Path model = tmp.resolve("llama");
    LlamaCheckpoints.write(model, LlamaCheckpoints.LLAMA_GQA, 2);
    LlamaCheckpoints.copyBundledTokenizer(model, LlamaCheckpoints.LLAMA_GQA);
    ModelDir dir = ModelDir.open(model);
    List<int[]> rows = List.of(new int[] {5, 17, 300}, new int[] {9});
    try (Engine fp32 = Engines.open(torch(), dir, EngineOptions.DEFAULTS);
        Engine bf16 =
            Engines.open(torch(), dir, EngineOptions.DEFAULTS.withPrecision(Precision.BF16));
        Engine djl = Engines.open(EngineSpec.DEFAULT, dir, EngineOptions.DEFAULTS);
        Batch a = fp32.start(rows);
        Batch b = bf16.start(rows);
        Batch c = djl.start(rows)) {
      for (int r = 0; r < 2; r++) {
        double toDjl = 0;
        double toBf16 = 0;
        float[] x = a.logits(r);
        float[] y = b.logits(r);
        float[] z = c.logits(r);
        for (int i = 0; i < x.length; i++) {
          toDjl = Math.max(toDjl, Math.abs(x[i] - z[i]));
          toBf16 = Math.max(toBf16, Math.abs(x[i] - y[i]));
        }
        assertThat(toDjl).as("row %d: torch fp32 vs DJL fp32", r).isLessThan(1e-4);
        // bf16 keeps 8 bits of mantissa: its logits move, but stay within a few hundredths here.
        assertThat(toBf16).as("row %d: bf16 vs fp32", r).isGreaterThan(0).isLessThan(0.5);
      }
    }
  }

  @Test
  void aMissingInterpreterOrTorchIsAnEnvironmentErrorSayingWhatToInstall() throws Exception {
    ModelDir dir = BundledModel.open();
    EngineSpec none = new EngineSpec("torch", Map.of("python", "/nonexistent/python3"));
    assertThatThrownBy(() -> Engines.open(none, dir, EngineOptions.DEFAULTS))
        .isInstanceOf(EnvironmentException.class)
        .hasMessageContaining("cannot start '/nonexistent/python3'")
        .hasMessageContaining("apt-get install python3 python3-torch");
    // The same interpreter without its site packages: no torch to import.
    Path bare = tmp.resolve("bare-python");
    Files.writeString(bare, "#!/bin/sh\nexec " + PYTHON + " -S \"$@\"\n");
    bare.toFile().setExecutable(true);
    EngineSpec noTorch = new EngineSpec("torch", Map.of("python", bare.toString()));
    assertThatThrownBy(() -> Engines.open(noTorch, dir, EngineOptions.DEFAULTS))
        .isInstanceOf(EnvironmentException.class)
        .hasMessageContaining("cannot import torch")
        .hasMessageContaining("apt-get install python3-torch");
  }

  @Test
  void aKilledWorkerFailsItsBatchWithItsLastWordsAndTheNextBatchGetsANewOne() throws Exception {
    ModelDir dir = BundledModel.open();
    try (TorchEngine e = (TorchEngine) Engines.open(torch(), dir, EngineOptions.DEFAULTS)) {
      Batch b = e.start(List.of(new int[] {1, 2, 3}));
      long pid = e.workerPid();
      ProcessHandle.of(pid).orElseThrow().destroyForcibly();
      ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
      assertThatThrownBy(() -> b.step(new int[] {4}, new boolean[] {true}))
          .hasMessageContaining("the torch worker (pid " + pid)
          .hasMessageContaining("stopped");
      b.close();
      try (Batch again = e.start(List.of(new int[] {1, 2, 3}))) {
        assertThat(e.workerPid()).isNotEqualTo(pid);
        assertThat(again.logits(0)).hasSize(dir.config().vocabSize());
      }
    }
  }

  @Test
  void aStuckWorkerTimesOutInsteadOfHanging() throws Exception {
    ModelDir dir = BundledModel.open();
    try (TorchEngine e =
        (TorchEngine) Engines.open(torch("timeout_seconds", "3"), dir, EngineOptions.DEFAULTS)) {
      long pid = e.workerPid();
      // SIGSTOP: the process lives but answers nothing.
      new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor();
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> e.start(List.of(new int[] {1, 2})))
          .hasMessageContaining("did not answer 'start' within 3 s and was stopped");
      assertThat((System.nanoTime() - t0) / 1e9).isLessThan(30);
      try (Batch b = e.start(List.of(new int[] {1, 2}))) {
        assertThat(e.workerPid()).isNotEqualTo(pid);
        assertThat(b.logits(0)).hasSize(dir.config().vocabSize());
      }
    }
  }

  @Test
  void aBrokenFolderIsAModelErrorNamingIt() throws Exception {
    Path model = tmp.resolve("broken");
    LlamaCheckpoints.write(model, LlamaCheckpoints.QWEN2, 4);
    LlamaCheckpoints.copyBundledTokenizer(model, LlamaCheckpoints.QWEN2);
    ModelDir dir = ModelDir.open(model);
    // The folder passed the Java checks; now its weights go missing under the worker.
    Files.delete(model.resolve("model.safetensors"));
    assertThatThrownBy(() -> Engines.open(torch(), dir, EngineOptions.DEFAULTS))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(model.toString())
        .hasMessageContaining("no model.safetensors");
  }

  @Test
  void benchDecodesTheSameCheckpointOnTorchBesideOursAndCleansUp() throws Exception {
    Path temp = Path.of(System.getProperty("java.io.tmpdir"));
    long before = benchFolders(temp);
    var r =
        io.tokendrift.cli.ExplainCommandTest.run(
            "bench", "--shapes", "tiny", "--steps", "4", "--torch-python", PYTHON);
    quotedOrRefused(r);
    // The checkpoints written for the worker and the peer are gone afterwards.
    assertThat(benchFolders(temp)).isEqualTo(before);
  }

  @Test
  void benchOnAModelFolderRunsTorchOnThatFolderAndLeavesItAlone() throws Exception {
    Path folder = tmp.resolve("bench-model");
    Files.createDirectories(folder);
    Path bundled = BundledModel.open().dir();
    for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
      Files.copy(bundled.resolve(f), folder.resolve(f));
    }
    var r =
        io.tokendrift.cli.ExplainCommandTest.run(
            "bench", "--model", folder.toString(), "--steps", "4", "--torch-python", PYTHON);
    quotedOrRefused(r);
    try (var s = Files.list(folder)) {
      assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
          .containsExactly("config.json", "model.safetensors", "tokenizer.json");
    }
    assertThat(
            Files.mismatch(
                folder.resolve("model.safetensors"), bundled.resolve("model.safetensors")))
        .isEqualTo(-1L);
  }

  @Test
  void benchWithAnInterpreterWithoutTorchStopsBeforeMeasuringWithExit3() {
    var r =
        io.tokendrift.cli.ExplainCommandTest.run(
            "bench", "--shapes", "tiny", "--steps", "4", "--torch-python", "/nonexistent/python3");
    assertThat(r.code()).isEqualTo(3);
    assertThat(r.err()).contains("/nonexistent/python3");
    assertThat(r.out()).doesNotContain("tokens/s");
  }

  private static long benchFolders(Path temp) throws Exception {
    try (var s = Files.list(temp)) {
      return s.filter(p -> p.getFileName().toString().startsWith("tokendrift-bench-")).count();
    }
  }

  /**
   * Our worker and the peer measured at batch 1 and 8, the BLAS torch loaded named; then our speed
   * against the peer (exit 0), or, on a reference BLAS, no ratio and how to leave it (exit 3).
   */
  private static void quotedOrRefused(io.tokendrift.cli.ExplainCommandTest.Result r) {
    assertThat(r.out())
        .containsPattern("torch \\S+: BLAS \\S+")
        .containsPattern("our worker\\), batch 1 +[0-9.]+ tokens/s, batch 8 +[0-9.]+ tokens/s")
        .containsPattern("peer .*batch 1 +[0-9.]+ tokens/s .*batch 8 +[0-9.]+ tokens/s");
    if (r.out().contains("runs on the reference BLAS")) {
      assertThat(r.code()).as(r.err()).isEqualTo(3);
      assertThat(r.out()).contains("libopenblas0-pthread").doesNotContain("ours/peer");
    } else {
      assertThat(r.code()).as(r.err()).isZero();
      assertThat(r.out()).containsPattern("ours/peer batch 1 [0-9.]+x, batch 8 [0-9.]+x");
    }
  }
}
