package io.tokendrift.engine.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.engine.RemoteEngine;
import io.tokendrift.engine.RemoteReply;
import io.tokendrift.engine.RemoteRequest;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An OpenAI-compatible provider (OpenAI, vLLM, SGLang, TGI, llama.cpp, Ollama, {@code tokendrift
 * serve}) through the JDK's {@link HttpClient} and Jackson: every request carries the spec's
 * decoding settings explicitly; 429, 408, 5xx, timeouts, dropped connections and unreadable replies
 * are retried with exponential backoff and jitter, honouring {@code Retry-After}; a client-side
 * rate limit and a cap on requests in flight. The API key is read from its environment variable
 * when the engine opens, sent as a bearer token, and scrubbed from every message.
 */
public final class OpenAiEngine implements RemoteEngine {
  /** Jackson, reading NaN and ±Infinity as some servers write them for -inf logprobs. */
  private static final ObjectMapper JSON =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();

  /** Backoff: first retry after about this, doubling, capped at {@link #MAX_BACKOFF_MS}. */
  static final long BASE_BACKOFF_MS = 250;

  static final long MAX_BACKOFF_MS = 20_000;

  /** A {@code Retry-After} longer than this is capped (and said so in the error if it fails). */
  static final long MAX_RETRY_AFTER_MS = 60_000;

  private final OpenAiOptions o;
  private final String apiKey;
  private final HttpClient http;
  private final Semaphore inFlight;
  private final RateLimit rate;
  private final Backoff backoff;

  /**
   * Opens a client for {@code o}.
   *
   * @throws EnvironmentException when {@code api_key_env} names a variable that is not set
   */
  public OpenAiEngine(OpenAiOptions o) {
    this(o, System::getenv, new Backoff(BASE_BACKOFF_MS, MAX_BACKOFF_MS));
  }

  OpenAiEngine(OpenAiOptions o, java.util.function.UnaryOperator<String> env, Backoff backoff) {
    if (o.local()) {
      throw new IllegalArgumentException(
          "engine.base_url 'local' must be replaced by the started server's URL");
    }
    this.o = o;
    this.backoff = backoff;
    if (o.apiKeyEnv() != null) {
      String k = env.apply(o.apiKeyEnv());
      if (k == null || k.isEmpty()) {
        throw new EnvironmentException(
            "engine.api_key_env: the environment variable "
                + o.apiKeyEnv()
                + " is not set (it holds the provider's API key)");
      }
      for (int i = 0; i < k.length(); i++) {
        if (k.charAt(i) < 0x20 || k.charAt(i) == 0x7F) {
          throw new EnvironmentException(
              "engine.api_key_env: the key in "
                  + o.apiKeyEnv()
                  + " holds a control character at position "
                  + i
                  + " (a trailing CR or newline from a file?); it cannot be sent as a header");
        }
      }
      apiKey = k;
    } else {
      apiKey = null;
    }
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(o.timeout())
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    this.inFlight = new Semaphore(o.maxConcurrency(), true);
    this.rate = new RateLimit(o.maxRequestsPerSecond());
  }

  @Override
  public Map<String, String> settings() {
    Map<String, String> m = new TreeMap<>();
    m.put("engine", "openai");
    m.put("remote", "true");
    m.put("openai.base_url", OpenAiOptions.redacted(o.baseUrl()));
    m.put("openai.model", o.model());
    m.put("openai.api", o.chat() ? "chat" : "completions");
    m.put("openai.timeout_seconds", Double.toString(o.timeout().toMillis() / 1000.0));
    m.put("openai.max_requests_per_second", Double.toString(o.maxRequestsPerSecond()));
    m.put("openai.max_concurrency", Integer.toString(o.maxConcurrency()));
    m.put("openai.max_retries", Integer.toString(o.maxRetries()));
    m.put("openai.top_logprobs", Integer.toString(o.topLogprobs()));
    m.put("openai.api_key_env", o.apiKeyEnv() == null ? "(none)" : o.apiKeyEnv());
    m.put("openai.headers", String.join(",", new java.util.TreeSet<>(o.headers().keySet())));
    return m;
  }

  @Override
  public RemoteReply complete(RemoteRequest r) throws InterruptedException {
    byte[] body = body(r);
    String url = o.baseUrl() + (r.chat() ? "/chat/completions" : "/completions");
    long t0 = System.nanoTime();
    int attempt = 0;
    java.util.List<RemoteReply.Retry> retries = new java.util.ArrayList<>();
    while (true) {
      attempt++;
      long retryAfter = -1;
      String last;
      String kind;
      int lastStatus;
      rate.acquire();
      inFlight.acquire();
      long ta = System.nanoTime();
      try {
        HttpResponse<String> resp = send(url, body);
        lastStatus = resp.statusCode();
        long tb = System.nanoTime();
        double ms = (tb - ta) / 1e6;
        if (lastStatus == 200) {
          try {
            String text = resp.body();
            return Replies.parse(
                    JSON.readTree(text),
                    () -> JSON.getFactory().createParser(text),
                    r,
                    lastStatus,
                    attempt,
                    ms)
                .after(retries, ta, tb);
          } catch (IOException e) {
            // Malformed or cut-off JSON: a proxy or a dropped stream; worth another try.
            kind = "malformed reply";
            last = "HTTP 200 with malformed JSON: " + scrub(firstLine(e.getMessage()));
          } catch (Replies.BadReply e) {
            // Well-formed but not a completion: asking again would get the same answer.
            return RemoteReply.failed(
                    "HTTP 200 but not a completion: " + scrub(e.getMessage()),
                    lastStatus,
                    attempt,
                    ms)
                .after(retries, ta, tb);
          }
        } else {
          kind = "HTTP " + lastStatus;
          last = "HTTP " + lastStatus + ": " + scrub(Replies.message(resp.body()));
          if (!retryable(lastStatus)) {
            return RemoteReply.failed(last, lastStatus, attempt, ms).after(retries, ta, tb);
          }
          retryAfter = retryAfter(resp);
        }
      } catch (TimeoutException e) {
        lastStatus = 0;
        kind = "timeout";
        last = "no reply within " + o.timeout().toMillis() / 1000.0 + " s (timeout_seconds)";
      } catch (IOException e) {
        lastStatus = 0;
        kind = "connection";
        last = "connection to " + OpenAiOptions.redacted(url) + " failed: " + scrub(describe(e));
      } catch (RuntimeException e) {
        // The request could not even be built or sent (e.g. a header the JDK refuses): no retry.
        long tb = System.nanoTime();
        return RemoteReply.failed(
                "request not sent: " + scrub(io.tokendrift.engine.Failures.describe(e)),
                0,
                attempt,
                (tb - ta) / 1e6)
            .after(retries, ta, tb);
      } finally {
        inFlight.release();
      }
      long tb = System.nanoTime();
      if (attempt > o.maxRetries()) {
        return RemoteReply.failed(
                last + " (after " + attempt + " attempt" + (attempt == 1 ? "" : "s") + ")",
                lastStatus,
                attempt,
                (tb - t0) / 1e6)
            .after(retries, ta, tb);
      }
      long wait =
          retryAfter >= 0 ? Math.min(retryAfter, MAX_RETRY_AFTER_MS) : backoff.delay(attempt);
      retries.add(new RemoteReply.Retry(lastStatus, kind, last, wait));
      Thread.sleep(wait);
    }
  }

  private HttpResponse<String> send(String url, byte[] body)
      throws IOException, TimeoutException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(o.timeout())
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    o.headers().forEach(b::header);
    if (apiKey != null) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    CompletableFuture<HttpResponse<String>> f =
        http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    try {
      // The whole reply, body included, within the timeout (HttpRequest.timeout covers headers).
      return f.get(o.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw e;
    } catch (InterruptedException e) {
      f.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof java.net.http.HttpTimeoutException) {
        throw new TimeoutException(c.getMessage());
      }
      if (c instanceof IOException io) {
        throw io;
      }
      throw new IOException(c.getClass().getSimpleName() + ": " + c.getMessage(), c);
    }
  }

  /** The request body: the spec's settings, always explicit. */
  byte[] body(RemoteRequest r) {
    ObjectNode n = JSON.createObjectNode();
    n.put("model", o.model());
    if (r.chat()) {
      ArrayNode msgs = n.putArray("messages");
      ObjectNode m = msgs.addObject();
      m.put("role", "user");
      m.put("content", r.prompt());
    } else {
      n.put("prompt", r.prompt());
    }
    n.put("max_tokens", r.maxTokens());
    n.put("temperature", r.temperature());
    n.put("top_p", r.topP());
    n.put("n", 1);
    n.put("stream", false);
    if (r.seed() != null) {
      n.put("seed", r.seed());
    }
    if (!r.stop().isEmpty()) {
      ArrayNode s = n.putArray("stop");
      r.stop().forEach(s::add);
    }
    if (r.logprobs()) {
      if (r.chat()) {
        n.put("logprobs", true);
        n.put("top_logprobs", r.topLogprobs());
      } else {
        n.put("logprobs", r.topLogprobs());
      }
    }
    if (r.extraFields() != null) {
      try {
        var extra = JSON.readTree(r.extraFields()).fields();
        while (extra.hasNext()) {
          var e = extra.next();
          if (n.has(e.getKey())) {
            throw new IllegalArgumentException(
                "extra request field '" + e.getKey() + "' would replace one tokendrift sets");
          }
          n.set(e.getKey(), e.getValue());
        }
      } catch (IOException e) {
        throw new IllegalArgumentException("extra request fields are not a JSON object", e);
      }
    }
    try {
      return JSON.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static boolean retryable(int status) {
    return status == 408 || status == 409 || status == 429 || status >= 500;
  }

  /** Retry-After in milliseconds (seconds or an HTTP date), or -1. */
  static long retryAfter(HttpResponse<?> resp) {
    return resp.headers().firstValue("Retry-After").map(OpenAiEngine::retryAfter).orElse(-1L);
  }

  static long retryAfter(String v) {
    String s = v.trim();
    try {
      double sec = Double.parseDouble(s);
      return sec < 0 ? -1 : Math.round(sec * 1000);
    } catch (NumberFormatException e) {
      try {
        java.time.ZonedDateTime t =
            java.time.ZonedDateTime.parse(s, java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME);
        return Math.max(0, Duration.between(java.time.Instant.now(), t.toInstant()).toMillis());
      } catch (java.time.format.DateTimeParseException e2) {
        return -1;
      }
    }
  }

  private static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return s == null ? "" : nl < 0 ? s : s.substring(0, nl);
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  /** Removes the API key from a message (a server may echo what it was sent). */
  String scrub(String s) {
    if (s == null) {
      return "";
    }
    return apiKey == null ? s : s.replace(apiKey, "***");
  }

  @Override
  public void close() {
    // HttpClient has no close() before Java 21; its threads end with it.
  }

  /** Exponential backoff with "equal jitter": uniform in [d/2, d] for d = base·2^(n-1), capped. */
  record Backoff(long baseMs, long maxMs, java.util.SplittableRandom jitter) {
    Backoff(long baseMs, long maxMs) {
      // Seeded: the harness stays reproducible; jitter only spreads this client's retries.
      this(baseMs, maxMs, new java.util.SplittableRandom(0x7D_2026L));
    }

    long delay(int attempt) {
      long cap = Math.min(maxMs, baseMs << Math.min(attempt - 1, 20));
      synchronized (jitter) {
        return jitter.nextLong(cap / 2, cap + 1);
      }
    }
  }

  /** At most {@code perSecond} request starts per second, spaced evenly; 0 for no limit. */
  static final class RateLimit {
    private final long intervalNanos;
    private long next = System.nanoTime(); // nanoTime may be negative: start from now

    RateLimit(double perSecond) {
      this.intervalNanos = perSecond <= 0 ? 0 : Math.round(1e9 / perSecond);
    }

    void acquire() throws InterruptedException {
      if (intervalNanos == 0) {
        return;
      }
      long slot;
      synchronized (this) {
        long now = System.nanoTime();
        slot = now - next > 0 ? now : next;
        next = slot + intervalNanos;
      }
      long wait = slot - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
    }
  }
}
