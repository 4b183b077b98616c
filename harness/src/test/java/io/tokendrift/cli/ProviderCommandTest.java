package io.tokendrift.cli;

import static io.tokendrift.cli.ExplainCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code run}, {@code baseline} and {@code check} with a provider spec, through the CLI. */
class ProviderCommandTest {
  @TempDir Path dir;

  private Path spec(String name, String engine, String axes) throws Exception {
    Path p = dir.resolve(name + ".yaml");
    Files.writeString(
        p,
        "name: "
            + name
            + "\nengine: "
            + engine
            + "\nprompts: [\"At night the sky is\", \"The capital of France is\"]\n"
            + "decoding: {temperature: 0, max_tokens: 8}\naxes: "
            + axes
            + "\n");
    return p;
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void dryRunStatesRequestsAndATokenBound() throws Exception {
    Path s =
        spec(
            "dry",
            "{kind: openai, base_url: \"https://user:secret@api.example.com/v1\", model: m}",
            "{concurrency: [1, 16], repeats: 3}");
    ExplainCommandTest.Result r = run("run", s.toString(), "--dry-run");
    // The spec's base URL holds credentials: refused before anything else.
    assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(r.err())
        .contains("engine.base_url: holds user info or a query")
        .doesNotContain("secret");
    s =
        spec(
            "dry",
            "{kind: openai, base_url: \"https://api.example.com/v1\", model: m}",
            "{concurrency: [1, 16], repeats: 3}");
    r = run("run", s.toString(), "--dry-run");
    assertThat(r.code()).isZero();
    // 3 repeats x (2 requests at c=1 + 16 at c=16) = 54 requests, x 8 max tokens.
    assertThat(r.out())
        .contains("provider: openai at https://api.example.com/v1, model m, api chat")
        .contains("grid: 2 points x 2 prompts x 1 seeds x 3 repeats = 12 runs")
        .contains(
            "cost: 54 requests in 9 waves (12 recorded, 42 fillers); at most 432 generated"
                + " tokens");
  }

  @Test
  void aRunAboveTheCostGuardNeedsYes() throws Exception {
    Path s =
        spec(
            "big",
            "{kind: openai, base_url: \"http://127.0.0.1:" + closedPort() + "/v1\", model: m}",
            "{concurrency: [64], repeats: 20}");
    ExplainCommandTest.Result r = run("run", s.toString(), "--out", dir.resolve("o").toString());
    assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(r.err())
        .contains("this run sends 1,280 requests that may generate up to 10,240 tokens")
        .contains("add --yes to confirm");
    assertThat(dir.resolve("o")).doesNotExist();
  }

  @Test
  void aProviderNobodyAnswersStopsAfterTheFirstWaveWithExitThreeNamingTheUrl() throws Exception {
    int port = closedPort();
    Path s =
        spec(
            "down",
            "{kind: openai, base_url: \"http://127.0.0.1:"
                + port
                + "/v1\", model: m, max_retries: 1}",
            "{concurrency: [1]}");
    Path out = dir.resolve("down");
    ExplainCommandTest.Result r = run("run", s.toString(), "--out", out.toString());
    // One line, naming the URL and the cause once, instead of a failure per request.
    assertThat(r.code()).isEqualTo(Main.ENVIRONMENT);
    assertThat(r.err())
        .contains(
            "no request of the first wave got a reply (connection to http://127.0.0.1:"
                + port
                + "/v1/chat/completions failed: ConnectException")
        .contains("is the server up at engine.base_url?")
        .contains("--resume");
    // The first wave's run is recorded as failed (kept for --resume); the second never sent.
    try (TraceReader t = TraceReader.open(out.resolve("trace.jsonl"))) {
      RunRecord rec = t.next();
      assertThat(rec.status()).isEqualTo(RunRecord.Status.FAILED);
      assertThat(rec.error())
          .startsWith("connection to http://127.0.0.1:" + port + "/v1/chat/completions failed: ")
          .endsWith("(after 2 attempts)");
      assertThat(rec.provider().attempts()).isEqualTo(2);
      assertThat(rec.provider().httpStatus()).isZero();
      assertThat(t.hasNext()).isFalse();
    }
  }

  @Test
  void checkPassesAgainstAProviderBaselineOfTheInvariantServer() throws Exception {
    Path s =
        spec(
            "inv",
            "{kind: openai, base_url: local, api: completions}",
            "{batch_invariant: [true], concurrency: [1, 4]}");
    Path base = dir.resolve("baseline");
    ExplainCommandTest.Result b = run("baseline", "record", s.toString(), "--out", base.toString());
    assertThat(b.code()).as(b.err()).isZero();
    ExplainCommandTest.Result c = run("check", s.toString(), "--baseline", base.toString());
    assertThat(c.code()).as(c.out() + c.err()).isZero();
    assertThat(c.out()).contains("4 runs");
  }

  @Test
  void repeatsWithAnIntervalAreSpreadOverTime() throws Exception {
    Path s =
        spec(
            "spread",
            "{kind: openai, base_url: local, api: completions}",
            "{concurrency: [1], repeats: 3, interval_seconds: 0.6}");
    long t0 = System.nanoTime();
    ExplainCommandTest.Result r =
        run("run", s.toString(), "--out", dir.resolve("spread").toString(), "--no-analyze");
    double took = (System.nanoTime() - t0) / 1e9;
    assertThat(r.code()).as(r.err()).isZero();
    // Repeat 2 starts no earlier than 2 x 0.6 s after the first request.
    assertThat(took).isGreaterThanOrEqualTo(1.2);
    assertThat(r.out()).contains("6 runs ok");
  }

  @Test
  void checkCatchesAChangedTextInRunsRecordedWithoutLogprobs() throws Exception {
    Path s =
        spec(
            "textonly",
            "{kind: openai, base_url: local, api: completions}",
            "{batch_invariant: [true], logprobs: [false]}");
    Path base = dir.resolve("textonly-baseline");
    assertThat(run("baseline", "record", s.toString(), "--out", base.toString()).code()).isZero();
    assertThat(run("check", s.toString(), "--baseline", base.toString()).code()).isZero();
    // The golden text of one run edited: the same server's answer no longer matches it.
    Path trace = base.resolve("trace.jsonl");
    List<String> lines = Files.readAllLines(trace);
    lines.set(1, lines.get(1).replaceFirst("\"text\":\"", "\"text\":\"Once more, "));
    Files.write(trace, lines);
    ExplainCommandTest.Result c = run("check", s.toString(), "--baseline", base.toString());
    assertThat(c.code()).as(c.out() + c.err()).isEqualTo(Main.CHANGED);
  }

  @Test
  void engineOptionsFromTheCommandLinePointASpecAtAnotherServer() throws Exception {
    Path s =
        spec(
            "elsewhere",
            "{kind: openai, base_url: \"https://api.example.com/v1\", model: m}",
            "{concurrency: [1]}");
    ExplainCommandTest.Result r =
        run(
            "run",
            s.toString(),
            "--dry-run",
            "--engine-option",
            "base_url=http://gpu-box:8000/v1",
            "--engine-option",
            "model=Qwen/Qwen2.5-0.5B-Instruct");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("provider: openai at http://gpu-box:8000/v1, model Qwen/Qwen2.5-0.5B-Instruct");
    ExplainCommandTest.Result bad =
        run("run", s.toString(), "--dry-run", "--engine-option", "top_logprobs=99");
    assertThat(bad.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(bad.err())
        .contains(
            "--engine-option: engine.top_logprobs: '99' is not allowed; an integer in [2, 20]");
  }
}
