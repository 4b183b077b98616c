package io.tokendrift.cli;

import static io.tokendrift.cli.ExplainCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A provider that turns one request of a concurrent wave away once (503, Retry-After: 1): the
 * retry's reason reaches the trace and the report, and the runs whose wave was no longer in flight
 * together are left out of the comparison instead of speaking for concurrency 2.
 */
class ProviderRetryTest {
  @TempDir Path dir;
  private HttpServer server;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The same two-token completion for every prompt, with logprobs. */
  static final String OK =
      "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"m\","
          + "\"choices\":[{\"index\":0,\"text\":\" blue sky\",\"finish_reason\":\"length\","
          + "\"logprobs\":{\"tokens\":[\" blue\",\" sky\"],\"token_logprobs\":[-0.5,-0.25],"
          + "\"top_logprobs\":[{\" blue\":-0.5,\" grey\":-1.5},{\" sky\":-0.25,\" sea\":-2.0}]}}],"
          + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void aRetryCostsItsWaveItsConcurrencyAndTheReportSaysWhy() throws Exception {
    Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/v1/",
        ex -> {
          try (ex) {
            JsonNode body = JSON.readTree(ex.getRequestBody());
            String prompt = body.path("prompt").asText();
            int n = calls.computeIfAbsent(prompt, k -> new AtomicInteger()).incrementAndGet();
            // Prompt "Alpha" is first sent alone (concurrency 1), then in the wave of 2, where
            // its first attempt is turned away.
            boolean refuse = prompt.equals("Alpha") && n == 2;
            byte[] b =
                (refuse ? "{\"error\":{\"message\":\"overloaded\"}}" : OK)
                    .getBytes(StandardCharsets.UTF_8);
            if (refuse) {
              ex.getResponseHeaders().add("Retry-After", "1");
            }
            ex.sendResponseHeaders(refuse ? 503 : 200, b.length);
            try (OutputStream o = ex.getResponseBody()) {
              o.write(b);
            }
          }
        });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
    Path spec = dir.resolve("retry.yaml");
    Files.writeString(
        spec,
        "name: retry\nengine: {kind: openai, base_url: \"http://127.0.0.1:"
            + server.getAddress().getPort()
            + "/v1\", model: m, api: completions, max_retries: 2}\n"
            + "prompts: [\"Alpha\", \"Beta\"]\n"
            + "decoding: {temperature: 0, max_tokens: 2}\n"
            + "axes: {concurrency: [1, 2]}\n");
    Path out = dir.resolve("out");
    ExplainCommandTest.Result r = run("run", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();

    List<RunRecord> runs = new ArrayList<>();
    try (TraceReader t = TraceReader.open(out.resolve("trace.jsonl"))) {
      t.forEachRemaining(runs::add);
    }
    assertThat(runs).hasSize(4).allMatch(x -> x.status() == RunRecord.Status.OK);
    RunRecord alpha2 = find(runs, "Alpha", "2");
    assertThat(alpha2.provider().attempts()).isEqualTo(2);
    assertThat(alpha2.provider().retries()).hasSize(1);
    assertThat(alpha2.provider().retries().get(0).status()).isEqualTo(503);
    assertThat(alpha2.provider().retries().get(0).kind()).isEqualTo("HTTP 503");
    assertThat(alpha2.provider().retries().get(0).reason()).isEqualTo("HTTP 503: overloaded");
    assertThat(alpha2.provider().retries().get(0).waitMs()).isEqualTo(1000);
    // Its retry went out a second after Beta had its answer: each ran alone.
    assertThat(alpha2.provider().inFlight()).isEqualTo(1);
    assertThat(find(runs, "Beta", "2").provider().inFlight()).isEqualTo(1);
    assertThat(find(runs, "Alpha", "1").provider().inFlight()).isEqualTo(1);
    assertThat(find(runs, "Alpha", "1").provider().retries()).isEmpty();

    JsonNode a = JSON.readTree(out.resolve("analysis.json").toFile());
    assertThat(a.at("/provider/runs_retried").asLong()).isEqualTo(1);
    assertThat(a.at("/provider/retries/HTTP 503").asLong()).isEqualTo(1);
    assertThat(a.at("/provider/runs_below_concurrency").asLong()).isEqualTo(2);
    // Neither run of the broken wave is compared: nothing is said about concurrency 2.
    assertThat(a.at("/headline/compared").asLong()).isZero();
    assertThat(a.at("/headline/skipped").asLong()).isEqualTo(2);
    String report = Files.readString(out.resolve("report.md"));
    assertThat(report)
        .contains("1 run(s) needed a retry (attempts sent again: 1 × HTTP 503).")
        .contains(
            "2 run(s) were in flight with fewer requests than their point's concurrency (a retry"
                + " sent after the rest had their answers");
  }

  private static RunRecord find(List<RunRecord> runs, String prompt, String concurrency) {
    return runs.stream()
        .filter(x -> x.prompt().equals(prompt) && x.point().get("concurrency").equals(concurrency))
        .findFirst()
        .orElseThrow();
  }
}
