package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.model.BundledModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mistakes of a newcomer's first hour, each through the real CLI (in-process): one line naming
 * what was wrong and what to do, the exit code of its kind (2 input, 3 environment), never "a bug"
 * and never a stack trace or the whole usage text.
 */
class FirstHourTest {
  @TempDir Path dir;

  static final String SPEC =
      "name: first\nprompts: [\"The capital of France is\"]\ndecoding: {max_tokens: 2}\n";

  private ExplainCommandTest.Result refused(int code, String... args) {
    ExplainCommandTest.Result r = ExplainCommandTest.run(args);
    assertThat(r.code()).as(String.join(" ", args) + "\n" + r.err()).isEqualTo(code);
    assertThat(r.err()).doesNotContain("a bug").doesNotContain("\tat ").doesNotContain("Usage:");
    return r;
  }

  @Test
  void aSpecGivenForATraceAndATraceGivenForASpecAreNamedWithWhatToDo() throws Exception {
    Path spec = dir.resolve("first.yaml");
    Files.writeString(spec, SPEC);
    Path out = dir.resolve("out");
    assertThat(ExplainCommandTest.run("run", spec.toString(), "--out", out.toString()).code())
        .isZero();
    Path trace = out.resolve("trace.jsonl");

    assertThat(refused(2, "analyze", spec.toString()).err())
        .contains(
            spec + ": an experiment spec, not a trace: run it first (`tokendrift run " + spec);
    assertThat(refused(2, "compare", trace.toString(), spec.toString()).err())
        .contains("an experiment spec, not a trace");
    assertThat(refused(2, "run", trace.toString()).err())
        .contains(trace + ": a trace (trace.jsonl), not an experiment spec: `tokendrift analyze");
    Path analysis = out.resolve("analysis.json");
    assertThat(refused(2, "run", analysis.toString()).err())
        .contains(analysis + ": an analysis (analysis.json), not a spec: `tokendrift report");
    assertThat(refused(2, "analyze", analysis.toString()).err())
        .contains("an analysis (analysis.json), not a trace");
  }

  @Test
  void aMissingFileIsBadInputAndAMissingRequiredOptionIsOneLineWithItsHelp() throws Exception {
    assertThat(refused(2, "run", dir.resolve("nope.yaml").toString()).err())
        .contains("nope.yaml: no such file");
    assertThat(refused(2, "analyze", dir.resolve("nope.jsonl").toString()).err())
        .contains("nope.jsonl: no such trace file");
    Path spec = dir.resolve("first.yaml");
    Files.writeString(spec, SPEC);
    ExplainCommandTest.Result r = refused(2, "check", spec.toString());
    assertThat(r.err())
        .startsWith("tokendrift check: Missing required option: '--baseline=DIR'")
        .contains("--baseline=DIR  Baseline folder, as `tokendrift baseline record")
        .contains("`tokendrift check --help` shows every option");
    assertThat(r.err().lines().count()).isEqualTo(3);
    assertThat(refused(2, "run", "--fail-fsat", spec.toString()).err())
        .contains("Unknown option: '--fail-fsat'")
        .contains("--fail-fast");
  }

  @Test
  void aBusyPortIsTheEnvironmentNotABug() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
      int port = taken.getLocalPort();
      assertThat(refused(3, "serve", "--port", Integer.toString(port)).err())
          .contains("127.0.0.1:" + port + " is in use by another process")
          .contains("--port");
    }
  }

  @Test
  void plantingIntoTheWrongModelIsRefusedAndLeavesNoFolderBehind() throws Exception {
    Path out = dir.resolve("planted");
    // The bundled model is planted already (its head is untied): not a model to plant into.
    assertThat(
            refused(
                    2,
                    "train-tiny",
                    "--from",
                    BundledModel.dir().toString(),
                    "--out",
                    out.toString())
                .err())
        .contains("already has an untied head");
    assertThat(out).doesNotExist();
    // A folder that is not a model: refused before --out is made.
    assertThat(refused(2, "train-tiny", "--from", "bundled", "--out", out.toString()).err())
        .contains("--from bundled: config.json is missing; --from takes the folder of a freshly")
        .doesNotContain(out.toString());
    assertThat(out).doesNotExist();
  }

  @Test
  void aGpuThatIsNotThereAndATorchThatIsNotThereNameWhatToUseInstead() throws Exception {
    assertThat(refused(3, "generate", "--device", "gpu", "--prompt", "Hi").err())
        .contains("README section \"GPUs and bf16 — the torch engine\"");
    ExplainCommandTest.Result r =
        refused(3, "bench", "--torch-python", dir.resolve("no-python").toString());
    assertThat(r.err()).contains("--torch-python " + dir.resolve("no-python") + ": cannot start");
    assertThat(r.err()).contains("name another interpreter with --torch-python");
    assertThat(r.out()).doesNotContain("memory bandwidth"); // refused before measuring anything
  }

  @Test
  void theKvCacheRatioSaysSlowerWhenItIsSlower() {
    assertThat(BenchCommand.cacheRatio(30, 20)).isEqualTo("KV cache is 1.5x faster");
    assertThat(BenchCommand.cacheRatio(14, 20)).startsWith("KV cache is 1.4x slower");
  }
}
