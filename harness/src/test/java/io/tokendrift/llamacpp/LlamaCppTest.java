package io.tokendrift.llamacpp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.GgufWriter;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import io.tokendrift.trace.TraceReader;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first engine nobody here wrote: the bundled model exported to GGUF, loaded by a real
 * llama.cpp (node-llama-cpp's prebuilt CPU build, behind ci/llamacpp/server.mjs), probed through
 * tokendrift's own openai engine and judged by its own analysis. Skipped, with the reason, where
 * llama.cpp is not installed (ci/llamacpp/install.sh, which .ci/run runs, needs node and npm).
 */
class LlamaCppTest {
  static final Path SERVER = Path.of("..", "ci", "llamacpp").toAbsolutePath().normalize();
  static final String PROMPTS =
      "prompts:\n"
          + "  - {id: france, text: \"The capital of France is\"}\n"
          + "  - {id: cat, text: \"The cat sat on the\"}\n"
          + "  - {id: cup, text: \"She poured a cup of\"}\n"
          + "  - {id: coin, text: \"The coin landed on\"}\n"
          + "  - {id: weather, text: \"The weather today is\"}\n"
          + "  - {id: sky, text: \"At night the sky is\"}\n"
          + "  - {id: story, text: \"Once upon a time there was a\"}\n"
          + "  - {id: seed-doc, text: \"Temperature scales\"}\n";

  @TempDir static Path dir;
  static Path gguf;

  @BeforeAll
  static void llamaCppIsHere() throws Exception {
    Assumptions.assumeTrue(
        Files.isRegularFile(SERVER.resolve("node_modules/node-llama-cpp/package.json")),
        "llama.cpp is not installed here: ci/llamacpp/install.sh installs node-llama-cpp 3.21.1"
            + " (needs node and npm; .ci/run runs it)");
    gguf = dir.resolve("tiny.gguf");
    GgufWriter.write(BundledModel.open(), gguf, Map.of());
  }

  /** A started ci/llamacpp/server.mjs; its base URL. */
  record Server(Process process, String baseUrl) implements AutoCloseable {
    static Server start(int parallel, boolean leak) throws Exception {
      List<String> cmd =
          new ArrayList<>(
              List.of(
                  "node",
                  SERVER.resolve("server.mjs").toString(),
                  "--model",
                  gguf.toString(),
                  "--port",
                  "0",
                  "--parallel",
                  Integer.toString(parallel)));
      if (leak) {
        cmd.add("--leak");
      }
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      BufferedReader out =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      if (line == null || !line.startsWith("listening on ")) {
        p.destroyForcibly();
        throw new IllegalStateException("llama.cpp server did not start: " + line);
      }
      return new Server(p, line.substring("listening on ".length()));
    }

    @Override
    public void close() {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
  }

  static List<RunRecord> run(String name, String yaml) throws Exception {
    Path spec = dir.resolve(name + ".yaml");
    Files.writeString(spec, yaml);
    Path trace = dir.resolve(name + ".jsonl");
    Runner.run(ExperimentSpec.read(spec), Runner.Options.of(trace), Runner.Progress.NONE, l -> {});
    List<RunRecord> out = new ArrayList<>();
    try (TraceReader r = TraceReader.open(trace)) {
      r.forEachRemaining(out::add);
    }
    return out;
  }

  static String provider(String name, String baseUrl, String axes) {
    return "name: "
        + name
        + "\nengine: {kind: openai, base_url: \""
        + baseUrl
        + "\", model: tiny.gguf, api: completions, top_logprobs: 5}\n"
        + PROMPTS
        + "decoding: {temperature: 0, max_tokens: 24}\n"
        + axes;
  }

  @Test
  void greedyAgreesWithOursExceptAtNearTiesWithinTheLogprobDistance() throws Exception {
    List<RunRecord> ours =
        run("ours", "name: ours\n" + PROMPTS + "decoding: {temperature: 0, max_tokens: 24}\n");
    List<RunRecord> theirs;
    try (Server s = Server.start(1, false)) {
      theirs = run("theirs", provider("theirs", s.baseUrl(), "axes: {concurrency: [1]}\n"));
    }
    Map<String, RunRecord> byPrompt = new LinkedHashMap<>();
    theirs.forEach(r -> byPrompt.put(r.promptId(), r));
    double worst = 0;
    int equal = 0;
    try (TextTokenizer tok = BundledModel.open().tokenizer()) {
      for (RunRecord o : ours) {
        RunRecord t = byPrompt.get(o.promptId());
        assertThat(t.status()).as(o.promptId() + ": " + t.error()).isEqualTo(RunRecord.Status.OK);
        Steps os = o.steps();
        Steps ts = t.steps();
        double distance = 0;
        int k = 0;
        for (; k < Math.min(o.tokens().length, ts.size()); k++) {
          String mine = tok.decode(new int[] {o.tokens()[k]});
          if (!mine.equals(ts.text(k))) {
            break;
          }
          // Log-probabilities of the same token after the same text: ours from float32 logits,
          // llama.cpp's from its softmax (ggml's CPU GELU reads an fp16 table: ~1e-3 apart).
          double ourLp = os.chosenLogit(k) - os.logSumExp(k);
          distance = Math.max(distance, Math.abs(ourLp - ts.chosenLogit(k)));
        }
        worst = Math.max(worst, distance);
        if (k == o.tokens().length) {
          equal++;
          continue;
        }
        // The first token already agrees (the tokenizers agree, the weights are the same) ...
        assertThat(k).as(o.promptId() + ": diverges at the first token").isPositive();
        // ... and a later divergence is a near-tie that the two engines' distance can tip.
        assertThat((double) os.margin(k))
            .as(
                "%s diverges at step %d with our margin %.3g, beyond twice the engines' distance %.3g",
                o.promptId(), k, os.margin(k), distance)
            .isLessThanOrEqualTo(2 * Math.max(distance, 1e-3));
      }
    }
    System.out.printf(
        "llama.cpp vs ours: %d of %d prompts identical for 24 tokens; largest logprob distance %.2e%n",
        equal, ours.size(), worst);
    assertThat(worst).as("largest |Δlogprob| before any divergence").isLessThan(0.05);
  }

  @Test
  void aServerThatCarriesOneRequestIntoTheNextIsReportedAsARealChange() throws Exception {
    List<RunRecord> leaked;
    try (Server s = Server.start(1, true)) {
      leaked = run("leak", provider("leak", s.baseUrl(), "axes: {concurrency: [1], repeats: 2}\n"));
    }
    assertThat(leaked).allMatch(r -> r.status() == RunRecord.Status.OK);
    Analysis a =
        Analyzer.analyze(List.of(dir.resolve("leak.jsonl")), Analyzer.Options.defaults(List.of()));
    // Repeats see the previous requests' tokens: not noise at a near-tie, a real change.
    assertThat(a.count(Analyzer.Verdict.UNEXPLAINED)).isPositive();
  }
}
