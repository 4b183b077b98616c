package io.tokendrift.engine.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.engine.RemoteReply;
import io.tokendrift.engine.RemoteRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The client against a small fault-injecting HTTP server on loopback: each fault (429 with
 * Retry-After, 500, a reply slower than the timeout, malformed JSON, a connection dropped mid-body,
 * a refused request) ends as a retry that succeeds or a failed reply with its reason.
 */
class OpenAiEngineTest {
  static final String KEY = "sk-test-3f9c2a71d5e84b06";
  private static final ObjectMapper JSON = new ObjectMapper();

  private HttpServer server;
  private final ConcurrentLinkedQueue<JsonNode> bodies = new ConcurrentLinkedQueue<>();
  private final List<String> auth = Collections.synchronizedList(new ArrayList<>());

  /** A completion in the completions shape, with logprobs for two tokens. */
  static final String OK =
      "{\"id\":\"cmpl-7\",\"object\":\"text_completion\",\"model\":\"m-served\","
          + "\"system_fingerprint\":\"fp_x\",\"choices\":[{\"index\":0,\"text\":\" blue sky\","
          + "\"finish_reason\":\"length\",\"logprobs\":{\"tokens\":[\" blue\",\" sky\"],"
          + "\"token_logprobs\":[-0.5,-0.25],\"top_logprobs\":[{\" grey\":-1.5,\" blue\":-0.5},"
          + "{\" sky\":-0.25,\" sea\":-2.0}],\"text_offset\":[0,5]}}],"
          + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}";

  /** Starts a server whose replies come from {@code script}, one call per request (from 1). */
  private String serve(Consumer<Exchange> script) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    AtomicInteger n = new AtomicInteger();
    server.createContext(
        "/v1/",
        ex -> {
          try (ex) {
            bodies.add(JSON.readTree(ex.getRequestBody()));
            String a = ex.getRequestHeaders().getFirst("Authorization");
            auth.add(a == null ? "" : a);
            script.accept(new Exchange(ex, n.incrementAndGet()));
          }
        });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  record Exchange(HttpExchange ex, int call) {
    void reply(int status, String body, String... headers) {
      try {
        for (int i = 0; i < headers.length; i += 2) {
          ex.getResponseHeaders().add(headers[i], headers[i + 1]);
        }
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream o = ex.getResponseBody()) {
          o.write(b);
        }
      } catch (IOException e) {
        // the client went away (timeout tests)
      }
    }
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private static OpenAiEngine engine(String url, String... extra) {
    Map<String, String> o = new java.util.TreeMap<>();
    o.put("base_url", url);
    o.put("model", "m");
    o.put("api", "completions");
    o.put("timeout_seconds", "2");
    o.put("max_retries", "3");
    for (int i = 0; i < extra.length; i += 2) {
      o.put(extra[i], extra[i + 1]);
    }
    return new OpenAiEngine(
        OpenAiOptions.of(new EngineSpec("openai", o)),
        v -> v.equals("TEST_KEY") ? KEY : null,
        new OpenAiEngine.Backoff(10, 40));
  }

  private static RemoteRequest request(boolean chat) {
    return new RemoteRequest("The sky is", chat, 2, 0, 1, 7L, 2, List.of());
  }

  @Test
  void aCompletionIsReadWithItsLogprobsAndTheRequestCarriesEverySetting() throws Exception {
    String url = serve(x -> x.reply(200, OK));
    RemoteReply r = engine(url).complete(request(false));
    assertThat(r.ok()).isTrue();
    assertThat(r.text()).isEqualTo(" blue sky");
    assertThat(r.responseId()).isEqualTo("cmpl-7");
    assertThat(r.model()).isEqualTo("m-served");
    assertThat(r.systemFingerprint()).isEqualTo("fp_x");
    assertThat(r.finishReason()).isEqualTo("length");
    assertThat(r.promptTokens()).isEqualTo(3);
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.tokens()).hasSize(2);
    // The dict of alternatives comes back most likely first.
    assertThat(r.tokens().get(0).topTexts()).containsExactly(" blue", " grey");
    assertThat(r.tokens().get(0).topLogprobs()).containsExactly(-0.5, -1.5);
    JsonNode sent = bodies.peek();
    assertThat(sent.get("prompt").asText()).isEqualTo("The sky is");
    assertThat(sent.get("temperature").asDouble()).isEqualTo(0.0);
    assertThat(sent.get("top_p").asDouble()).isEqualTo(1.0);
    assertThat(sent.get("seed").asLong()).isEqualTo(7);
    assertThat(sent.get("logprobs").asInt()).isEqualTo(2);
    assertThat(sent.get("max_tokens").asInt()).isEqualTo(2);
  }

  @Test
  void theChatShapeIsReadWithBytes() throws Exception {
    String chat =
        "{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"message\":{\"role\":\"assistant\","
            + "\"content\":\"Hi\"},\"finish_reason\":\"stop\",\"logprobs\":{\"content\":[{"
            + "\"token\":\"Hi\",\"logprob\":-0.1,\"bytes\":[72,105],\"top_logprobs\":["
            + "{\"token\":\"Hi\",\"logprob\":-0.1,\"bytes\":[72,105]},"
            + "{\"token\":\"Hey\",\"logprob\":-2.4,\"bytes\":[72,101,121]}]}]}}]}";
    String url = serve(x -> x.reply(200, chat));
    RemoteReply r = engine(url).complete(request(true));
    assertThat(r.ok()).isTrue();
    assertThat(r.text()).isEqualTo("Hi");
    assertThat(r.systemFingerprint()).isNull();
    assertThat(r.tokens().get(0).bytes()).containsExactly(72, 105);
    assertThat(r.tokens().get(0).topTexts()).containsExactly("Hi", "Hey");
    JsonNode sent = bodies.peek();
    assertThat(sent.get("messages").get(0).get("content").asText()).isEqualTo("The sky is");
    assertThat(sent.get("logprobs").asBoolean()).isTrue();
    assertThat(sent.get("top_logprobs").asInt()).isEqualTo(2);
  }

  @Test
  void a429WithRetryAfterIsWaitedForThenRetried() throws Exception {
    String url =
        serve(
            x -> {
              if (x.call() == 1) {
                x.reply(429, "{\"error\":{\"message\":\"slow down\"}}", "Retry-After", "1");
              } else {
                x.reply(200, OK);
              }
            });
    long t0 = System.nanoTime();
    RemoteReply r = engine(url).complete(request(false));
    double waited = (System.nanoTime() - t0) / 1e9;
    assertThat(r.ok()).isTrue();
    assertThat(r.attempts()).isEqualTo(2);
    // The backoff alone would wait at most 40 ms: the second attempt honoured Retry-After: 1.
    assertThat(waited).isGreaterThanOrEqualTo(0.95);
    // The retry's reason travels with the reply (the trace records it).
    assertThat(r.retries())
        .containsExactly(new RemoteReply.Retry(429, "HTTP 429", "HTTP 429: slow down", 1000));
    assertThat(r.sentNanos()).isPositive();
    assertThat(r.doneNanos()).isGreaterThanOrEqualTo(r.sentNanos());
  }

  @Test
  void extraRequestFieldsAreSentAsTheyAreAndMayNotReplaceOurs() throws Exception {
    String url = serve(x -> x.reply(200, OK));
    RemoteRequest r =
        new RemoteRequest(
            "The sky is",
            false,
            2,
            0,
            1,
            7L,
            2,
            List.of(),
            "{\"cache_prompt\":true,\"options\":{\"num_ctx\":512}}");
    assertThat(engine(url).complete(r).ok()).isTrue();
    JsonNode sent = bodies.peek();
    assertThat(sent.get("cache_prompt").asBoolean()).isTrue();
    assertThat(sent.at("/options/num_ctx").asInt()).isEqualTo(512);
    assertThat(sent.get("temperature").asDouble()).isZero(); // ours are still there
    RemoteRequest clash =
        new RemoteRequest("x", false, 2, 0, 1, null, -1, List.of(), "{\"temperature\":1}");
    assertThatThrownBy(() -> engine(url).complete(clash))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("extra request field 'temperature' would replace one tokendrift sets");
  }

  @Test
  void aLegacyAlternativeWithoutANumberIsABadReplyNotATopChoice() throws Exception {
    String bad =
        "{\"id\":\"c\",\"choices\":[{\"text\":\" a\",\"logprobs\":{\"tokens\":[\" a\"],"
            + "\"token_logprobs\":[-0.1],\"top_logprobs\":[{\" a\":-0.1,\" b\":null}]}}]}";
    String url = serve(x -> x.reply(200, bad));
    RemoteReply r = engine(url).complete(request(false));
    assertThat(r.ok()).isFalse();
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.error()).contains("top_logprobs[0]: the logprob of ' b' is not a number");
  }

  @Test
  void legacyAlternativesWithTheSameTextAreBothKept() throws Exception {
    // Two token ids that decode to " the": the completions API keys alternatives by text, so the
    // step's object holds the key twice. A tree would keep the last; both must survive.
    // The usage before the choices, the logprobs before the text: a stream finds them anyway.
    String dup =
        "{\"id\":\"cmpl-8\",\"usage\":{\"prompt_tokens\":3},\"model\":\"m\",\"choices\":[{"
            + "\"finish_reason\":\"length\",\"logprobs\":{\"tokens\":[\" the\"],"
            + "\"token_logprobs\":[-0.7],\"top_logprobs\":[{\" the\":-0.7,\" a\":-1.9,"
            + "\" the\":-2.3}]},\"text\":\" the\"}]}";
    String url = serve(x -> x.reply(200, dup));
    RemoteReply r = engine(url).complete(request(false));
    assertThat(r.ok()).as(r.error()).isTrue();
    assertThat(r.tokens().get(0).topTexts()).containsExactly(" the", " a", " the");
    assertThat(r.tokens().get(0).topLogprobs()).containsExactly(-0.7, -1.9, -2.3);
  }

  @Test
  void a500EveryTimeIsAFailedReplyWithStatusMessageAndAttempts() throws Exception {
    String url = serve(x -> x.reply(500, "{\"error\":{\"message\":\"backend exploded\"}}"));
    RemoteReply r = engine(url).complete(request(false));
    assertThat(r.ok()).isFalse();
    assertThat(r.httpStatus()).isEqualTo(500);
    assertThat(r.attempts()).isEqualTo(4); // 1 + max_retries 3
    assertThat(r.error()).isEqualTo("HTTP 500: backend exploded (after 4 attempts)");
    assertThat(bodies).hasSize(4);
  }

  @Test
  void aRefusedRequestIsNotRetried() throws Exception {
    String url = serve(x -> x.reply(400, "{\"error\":{\"message\":\"'top_logprobs' too large\"}}"));
    RemoteReply r = engine(url).complete(request(false));
    assertThat(r.ok()).isFalse();
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.error()).isEqualTo("HTTP 400: 'top_logprobs' too large");
  }

  @Test
  void aReplySlowerThanTheTimeoutFailsSayingSo() throws Exception {
    String url =
        serve(
            x -> {
              try {
                Thread.sleep(3_000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              x.reply(200, OK);
            });
    RemoteReply r =
        engine(url, "timeout_seconds", "0.3", "max_retries", "1").complete(request(false));
    assertThat(r.ok()).isFalse();
    assertThat(r.httpStatus()).isZero();
    assertThat(r.attempts()).isEqualTo(2);
    assertThat(r.error()).isEqualTo("no reply within 0.3 s (timeout_seconds) (after 2 attempts)");
    assertThat(r.retries()).hasSize(1);
    assertThat(r.retries().get(0).kind()).isEqualTo("timeout");
    assertThat(r.retries().get(0).status()).isZero();
    assertThat(r.retries().get(0).reason()).isEqualTo("no reply within 0.3 s (timeout_seconds)");
  }

  @Test
  void malformedJsonIsRetriedAndTheRetrySucceeds() throws Exception {
    String url = serve(x -> x.reply(200, x.call() == 1 ? "{\"choices\": [ {\"text\": \"cut" : OK));
    RemoteReply r = engine(url).complete(request(false));
    assertThat(r.ok()).isTrue();
    assertThat(r.attempts()).isEqualTo(2);
    assertThat(r.retries()).extracting(RemoteReply.Retry::kind).containsExactly("malformed reply");
  }

  @Test
  void malformedJsonEveryTimeFailsWithItsReason() throws Exception {
    String url = serve(x -> x.reply(200, "not json at all"));
    RemoteReply r = engine(url, "max_retries", "1").complete(request(false));
    assertThat(r.ok()).isFalse();
    assertThat(r.httpStatus()).isEqualTo(200);
    assertThat(r.error()).startsWith("HTTP 200 with malformed JSON: Unrecognized token 'not'");
  }

  @Test
  void wellFormedJsonThatIsNoCompletionFailsAtOnce() throws Exception {
    String url = serve(x -> x.reply(200, "{\"choices\":[{\"text\":\"x\",\"logprobs\":null}]}"));
    RemoteReply r = engine(url).complete(request(false));
    assertThat(r.ok()).isFalse();
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.error()).contains("logprobs were asked for but choices[0].logprobs is missing");
  }

  @Test
  void aConnectionDroppedMidBodyIsRetried() throws Exception {
    // A raw socket server: the first connection promises 1,000 bytes, sends 20 and hangs up.
    try (ServerSocket ss = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      AtomicInteger calls = new AtomicInteger();
      Thread t =
          new Thread(
              () -> {
                while (!ss.isClosed()) {
                  try (Socket s = ss.accept()) {
                    readRequest(s);
                    OutputStream o = s.getOutputStream();
                    if (calls.incrementAndGet() == 1) {
                      o.write(
                          ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  + "Content-Length: 1000\r\nConnection: close\r\n\r\n"
                                  + "{\"choices\": [{\"te")
                              .getBytes(StandardCharsets.UTF_8));
                    } else {
                      byte[] b = OK.getBytes(StandardCharsets.UTF_8);
                      o.write(
                          ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                  + b.length
                                  + "\r\nConnection: close\r\n\r\n")
                              .getBytes(StandardCharsets.UTF_8));
                      o.write(b);
                    }
                    o.flush();
                  } catch (IOException e) {
                    return;
                  }
                }
              });
      t.setDaemon(true);
      t.start();
      RemoteReply r =
          engine("http://127.0.0.1:" + ss.getLocalPort() + "/v1").complete(request(false));
      assertThat(r.ok()).isTrue();
      assertThat(r.attempts()).isEqualTo(2);
      assertThat(calls.get()).isEqualTo(2);
    }
  }

  @Test
  void aConnectionRefusedEveryTimeFailsWithItsReason() throws Exception {
    int port;
    try (ServerSocket ss = new ServerSocket(0)) {
      port = ss.getLocalPort(); // closed again: nothing listens there
    }
    RemoteReply r =
        engine("http://127.0.0.1:" + port + "/v1", "max_retries", "1").complete(request(false));
    assertThat(r.ok()).isFalse();
    assertThat(r.httpStatus()).isZero();
    assertThat(r.error())
        .startsWith(
            "connection to http://127.0.0.1:" + port + "/v1/completions failed: ConnectException")
        .endsWith("(after 2 attempts)");
  }

  private static void readRequest(Socket s) throws IOException {
    var in = s.getInputStream();
    StringBuilder head = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0) {
      head.append((char) c);
      if (head.toString().endsWith("\r\n\r\n")) {
        break;
      }
    }
    String h = head.toString().toLowerCase(java.util.Locale.ROOT);
    int at = h.indexOf("content-length:");
    if (at >= 0) {
      int len = Integer.parseInt(h.substring(at + 15, h.indexOf('\r', at)).trim());
      in.readNBytes(len);
    }
  }

  @Test
  void theKeyIsSentAsABearerTokenAndScrubbedFromWhatTheServerEchoes() throws Exception {
    String url =
        serve(
            x ->
                x.reply(
                    401,
                    "{\"error\":{\"message\":\"bad key: "
                        + x.ex().getRequestHeaders().getFirst("Authorization")
                        + "\"}}"));
    OpenAiEngine e = engine(url, "api_key_env", "TEST_KEY");
    RemoteReply r = e.complete(request(false));
    assertThat(auth).containsExactly("Bearer " + KEY);
    assertThat(r.error()).isEqualTo("HTTP 401: bad key: Bearer ***");
    assertThat(e.settings().toString()).doesNotContain(KEY).contains("TEST_KEY");
  }

  @Test
  void aKeyWithAControlCharacterIsRefusedWithoutShowingIt() {
    Map<String, String> o =
        Map.of("base_url", "http://127.0.0.1:1/v1", "model", "m", "api_key_env", "K");
    assertThatThrownBy(
            () ->
                new OpenAiEngine(
                    OpenAiOptions.of(new EngineSpec("openai", o)),
                    v -> KEY + "\r",
                    new OpenAiEngine.Backoff(10, 40)))
        .isInstanceOf(EnvironmentException.class)
        .hasMessageContaining("control character at position 24")
        .hasMessageNotContaining(KEY);
  }

  @Test
  void nonNumericLogprobsAndANullChatContentAreRead() throws Exception {
    String chat =
        "{\"id\":\"c2\",\"model\":\"m\",\"choices\":[{\"message\":{\"role\":\"assistant\","
            + "\"content\":null,\"refusal\":\"no\"},\"finish_reason\":\"stop\",\"logprobs\":"
            + "{\"content\":[{\"token\":\"x\",\"logprob\":-Infinity,\"top_logprobs\":[]}]}}]}";
    String url = serve(x -> x.reply(200, chat));
    RemoteReply r = engine(url).complete(request(true));
    assertThat(r.ok()).isTrue();
    assertThat(r.text()).isEmpty();
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.tokens().get(0).logprob()).isEqualTo(Double.NEGATIVE_INFINITY);
  }

  @Test
  void aMissingKeyVariableIsAnEnvironmentError() {
    assertThatThrownBy(() -> engine("http://127.0.0.1:1/v1", "api_key_env", "NOT_SET_ANYWHERE"))
        .isInstanceOf(EnvironmentException.class)
        .hasMessage(
            "engine.api_key_env: the environment variable NOT_SET_ANYWHERE is not set (it holds"
                + " the provider's API key)");
  }

  @Test
  void theRateLimitSpacesRequestStarts() throws Exception {
    String url = serve(x -> x.reply(200, OK));
    OpenAiEngine e = engine(url, "max_requests_per_second", "20");
    long t0 = System.nanoTime();
    for (int i = 0; i < 5; i++) {
      assertThat(e.complete(request(false)).ok()).isTrue();
    }
    // Five starts at 20 per second: the fifth no earlier than 4 × 50 ms after the first.
    assertThat((System.nanoTime() - t0) / 1e6).isGreaterThanOrEqualTo(195);
  }

  @Test
  void optionsAreCheckedNamingTheOptionAndWhatIsAllowed() {
    assertThatThrownBy(() -> opts("base_url", "ftp://x/v1", "model", "m"))
        .hasMessageContaining("engine.base_url: 'ftp://x/v1' must be an http:// or https:// URL");
    assertThatThrownBy(() -> opts("base_url", "https://user:pw@x/v1", "model", "m"))
        .hasMessageStartingWith("engine.base_url: holds user info or a query")
        .hasMessageNotContaining("pw");
    assertThatThrownBy(() -> opts("base_url", "http://x/v1"))
        .hasMessageStartingWith("engine.model: is required");
    assertThatThrownBy(() -> opts("base_url", "http://x/v1", "model", "m", "api", "responses"))
        .hasMessage("engine.api: 'responses' is not known; allowed: chat, completions");
    assertThatThrownBy(
            () -> opts("base_url", "http://x/v1", "model", "m", "headers", "Authorization: k"))
        .hasMessageStartingWith("engine.headers: Authorization is set from api_key_env only");
    assertThatThrownBy(() -> opts("base_url", "http://x/v1", "model", "m", "top_logprobs", "50"))
        .hasMessage("engine.top_logprobs: '50' is not allowed; an integer in [2, 20]");
    // One alternative gives no margin: at least the runner-up is needed.
    assertThatThrownBy(() -> opts("base_url", "http://x/v1", "model", "m", "top_logprobs", "1"))
        .hasMessage("engine.top_logprobs: '1' is not allowed; an integer in [2, 20]");
    assertThatThrownBy(() -> opts("base_url", "http://x/v1", "model", "m", "headers", "Host: y"))
        .hasMessageStartingWith("engine.headers: Host is set by the client itself");
    assertThatThrownBy(() -> opts("base_url", "http://x/v1#frag", "model", "m"))
        .hasMessageStartingWith("engine.base_url: holds a fragment");
    assertThat(
            opts("base_url", "http://x/v1/", "model", "m", "headers", "X-A: 1; X-B: two").headers())
        .containsExactly(Map.entry("X-A", "1"), Map.entry("X-B", "two"));
    assertThat(OpenAiOptions.redacted("https://u:p@api.example.com:8443/v1?key=s"))
        .isEqualTo("https://api.example.com:8443/v1");
  }

  @Test
  void retryAfterReadsSecondsAndDates() {
    assertThat(OpenAiEngine.retryAfter("2")).isEqualTo(2000);
    assertThat(OpenAiEngine.retryAfter("0.5")).isEqualTo(500);
    assertThat(OpenAiEngine.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).isZero(); // past
    assertThat(OpenAiEngine.retryAfter("soon")).isEqualTo(-1);
  }

  private static OpenAiOptions opts(String... kv) {
    Map<String, String> o = new java.util.TreeMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      o.put(kv[i], kv[i + 1]);
    }
    return OpenAiOptions.of(new EngineSpec("openai", o));
  }
}
