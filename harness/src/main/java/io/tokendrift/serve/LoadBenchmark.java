package io.tokendrift.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Load on a running server over loopback: {@code clients} concurrent clients each send {@code
 * requests} completions one after another; every response is checked (status, JSON, a unique id,
 * tokens generated) so a lost or duplicated request shows.
 */
public final class LoadBenchmark {
  private LoadBenchmark() {}

  /**
   * What the load did.
   *
   * @param sent requests sent
   * @param valid responses that were 200 with a well-formed body
   * @param uniqueIds distinct response ids among them
   * @param tokens completion tokens over all valid responses
   * @param seconds wall-clock time of the whole load
   * @param p50Millis median latency of a request
   * @param p99Millis 99th-percentile latency
   */
  public record Result(
      int sent,
      int valid,
      int uniqueIds,
      long tokens,
      double seconds,
      double p50Millis,
      double p99Millis) {
    public double tokensPerSecond() {
      return tokens / seconds;
    }
  }

  /** Runs the load against {@code port}; prompts rotate through {@code prompts}. */
  public static Result run(int port, int clients, int requests, int maxTokens, List<String> prompts)
      throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Future<List<long[]>>> futures = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    long t0 = System.nanoTime();
    try {
      for (int c = 0; c < clients; c++) {
        int client = c;
        futures.add(
            pool.submit(
                () -> {
                  List<long[]> out = new ArrayList<>(); // {latency ns, tokens, valid}
                  for (int i = 0; i < requests; i++) {
                    String prompt = prompts.get((client * requests + i) % prompts.size());
                    String body =
                        Responses.JSON
                            .createObjectNode()
                            .put("prompt", prompt)
                            .put("max_tokens", maxTokens)
                            .put("temperature", 0)
                            .toString();
                    long s = System.nanoTime();
                    long tokens = -1;
                    try {
                      HttpResponse<String> r =
                          http.send(
                              HttpRequest.newBuilder(
                                      URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                                  .header("Content-Type", "application/json")
                                  .POST(HttpRequest.BodyPublishers.ofString(body))
                                  .build(),
                              HttpResponse.BodyHandlers.ofString());
                      if (r.statusCode() == 200) {
                        JsonNode n = Responses.JSON.readTree(r.body());
                        tokens = n.path("usage").path("completion_tokens").asLong(-1);
                        synchronized (ids) {
                          ids.add(n.path("id").asText());
                        }
                      }
                    } catch (java.io.IOException e) {
                      tokens = -1; // a lost request counts as invalid; the load goes on
                    }
                    long lat = System.nanoTime() - s;
                    out.add(new long[] {lat, Math.max(0, tokens), tokens > 0 ? 1 : 0});
                  }
                  return out;
                }));
      }
      List<long[]> all = new ArrayList<>();
      for (Future<List<long[]>> f : futures) {
        all.addAll(f.get());
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      long[] lat = all.stream().mapToLong(x -> x[0]).sorted().toArray();
      long tokens = all.stream().mapToLong(x -> x[1]).sum();
      int valid = (int) all.stream().filter(x -> x[2] == 1).count();
      return new Result(
          all.size(), valid, ids.size(), tokens, seconds, pct(lat, 0.50), pct(lat, 0.99));
    } finally {
      pool.shutdownNow();
    }
  }

  /** The q-quantile of sorted latencies (nearest rank), in milliseconds. */
  static double pct(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
  }
}
