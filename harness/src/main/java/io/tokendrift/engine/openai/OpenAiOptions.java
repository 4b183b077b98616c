package io.tokendrift.engine.openai;

import io.tokendrift.engine.EngineSpec;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code openai} engine's options, checked: every refusal names the option and what is allowed.
 *
 * @param baseUrl the API root, e.g. {@code http://127.0.0.1:8000/v1} ({@code local}: a {@code
 *     tokendrift serve} the experiment starts itself, filled in by then)
 * @param model the model to ask for
 * @param chat true for the chat API (the default api axis value)
 * @param apiKeyEnv the environment variable holding the API key, or null for none
 * @param headers extra request headers, name → value
 * @param timeout per attempt, response body included
 * @param maxRequestsPerSecond client-side rate limit, 0 for none
 * @param maxConcurrency requests in flight at most (the largest concurrency a spec may ask for)
 * @param maxRetries retries after the first attempt
 * @param topLogprobs alternatives per token asked for when logprobs are on
 * @param maxBatch for {@code base_url: local}: the served batch (serve's --max-batch)
 */
public record OpenAiOptions(
    String baseUrl,
    String model,
    boolean chat,
    String apiKeyEnv,
    Map<String, String> headers,
    Duration timeout,
    double maxRequestsPerSecond,
    int maxConcurrency,
    int maxRetries,
    int topLogprobs,
    int maxBatch) {

  /** The value of {@code base_url} that starts a local {@code tokendrift serve}. */
  public static final String LOCAL = "local";

  /** Most alternatives per token OpenAI's API allows. */
  public static final int MAX_TOP_LOGPROBS = 20;

  static final Set<String> KEYS =
      Set.of(
          "base_url",
          "model",
          "api",
          "api_key_env",
          "headers",
          "timeout_seconds",
          "max_requests_per_second",
          "max_concurrency",
          "max_retries",
          "top_logprobs",
          "max_batch");

  /**
   * Reads and checks the options of {@code spec}.
   *
   * @throws IllegalArgumentException naming the option, its value and what is allowed
   */
  public static OpenAiOptions of(EngineSpec spec) {
    Map<String, String> o = spec.options();
    String base = o.get("base_url");
    if (base == null || base.isBlank()) {
      throw new IllegalArgumentException(
          "engine.base_url: is required: the API root, e.g. https://api.openai.com/v1 or"
              + " http://127.0.0.1:8000/v1, or 'local' for a tokendrift serve started by the"
              + " experiment");
    }
    boolean local = base.equals(LOCAL);
    if (!local) {
      base = checkUrl(base);
    }
    String model = o.get("model");
    if ((model == null || model.isBlank()) && !local) {
      throw new IllegalArgumentException(
          "engine.model: is required: the model name the provider serves (see its /v1/models)");
    }
    String api = o.getOrDefault("api", "chat");
    if (!api.equals("chat") && !api.equals("completions")) {
      throw new IllegalArgumentException(
          "engine.api: '" + api + "' is not known; allowed: chat, completions");
    }
    String keyEnv = o.get("api_key_env");
    if (keyEnv != null && !keyEnv.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException(
          "engine.api_key_env: '"
              + keyEnv
              + "' is not an environment variable name (letters, digits, '_'); the key itself"
              + " never goes in a spec");
    }
    return new OpenAiOptions(
        base,
        model == null ? "" : model,
        api.equals("chat"),
        keyEnv,
        headers(o.getOrDefault("headers", "")),
        Duration.ofMillis(
            Math.round(1000 * number(o, "timeout_seconds", 60, 0.001, 3600, "seconds"))),
        number(o, "max_requests_per_second", 0, 0, 10_000, "requests per second, 0 for no limit"),
        (int) integer(o, "max_concurrency", 64, 1, 4096),
        (int) integer(o, "max_retries", 4, 0, 20),
        (int) integer(o, "top_logprobs", MAX_TOP_LOGPROBS, 2, MAX_TOP_LOGPROBS),
        (int) integer(o, "max_batch", 8, 1, 256));
  }

  /** Whether the experiment starts its own server. */
  public boolean local() {
    return baseUrl.equals(LOCAL);
  }

  /**
   * The base URL as a manifest records it: scheme, host, port and path, never user info or query
   * (where credentials hide).
   */
  public static String redacted(String url) {
    try {
      URI u = new URI(url);
      if (u.getHost() == null) {
        return url.replaceAll("[?#].*$", "");
      }
      return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null)
          .toString();
    } catch (URISyntaxException e) {
      return "(unparseable URL)";
    }
  }

  private static String checkUrl(String base) {
    URI u;
    try {
      u = new URI(base);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "engine.base_url: not a URL (" + e.getReason() + "); e.g. http://127.0.0.1:8000/v1");
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null) {
      throw new IllegalArgumentException(
          "engine.base_url: '"
              + redacted(base)
              + "' must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/v1");
    }
    if (u.getFragment() != null) {
      throw new IllegalArgumentException(
          "engine.base_url: holds a fragment ('#...'); allowed: scheme://host[:port]/path");
    }
    if (u.getUserInfo() != null || u.getQuery() != null) {
      throw new IllegalArgumentException(
          "engine.base_url: holds user info or a query (credentials go in api_key_env, never in"
              + " the URL); allowed: scheme://host[:port]/path");
    }
    return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
  }

  /** Headers the client sets or the JDK's HttpClient refuses. */
  static final Set<String> RESERVED_HEADERS =
      Set.of("host", "connection", "content-length", "expect", "upgrade", "content-type", "accept");

  /** {@code "Name: value; Other: value"} → ordered map. */
  static Map<String, String> headers(String s) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String part : s.split("[;\n]")) {
      if (part.isBlank()) {
        continue;
      }
      int colon = part.indexOf(':');
      String name = colon < 0 ? "" : part.substring(0, colon).trim();
      if (colon < 0 || !name.matches("[A-Za-z0-9-]+")) {
        throw new IllegalArgumentException(
            "engine.headers: '"
                + part.trim()
                + "' is not 'Name: value' (several separated by ';'); a secret header's value"
                + " belongs in api_key_env");
      }
      if (RESERVED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException(
            "engine.headers: "
                + name
                + " is set by the client itself (the JDK refuses or duplicates it); reserved: "
                + String.join(", ", new java.util.TreeSet<>(RESERVED_HEADERS)));
      }
      if (name.equalsIgnoreCase("authorization")) {
        throw new IllegalArgumentException(
            "engine.headers: Authorization is set from api_key_env only, so that no key is"
                + " written in a spec");
      }
      out.put(name, part.substring(colon + 1).trim());
    }
    return out;
  }

  private static double number(
      Map<String, String> o, String key, double def, double min, double max, String what) {
    String v = o.get(key);
    if (v == null) {
      return def;
    }
    double d;
    try {
      d = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      d = Double.NaN;
    }
    if (!(d >= min && d <= max)) {
      throw new IllegalArgumentException(
          "engine."
              + key
              + ": '"
              + v
              + "' is not allowed; "
              + what
              + " in ["
              + min
              + ", "
              + max
              + "]");
    }
    return d;
  }

  private static long integer(Map<String, String> o, String key, long def, long min, long max) {
    String v = o.get(key);
    if (v == null) {
      return def;
    }
    long x;
    try {
      x = Long.parseLong(v);
    } catch (NumberFormatException e) {
      x = Long.MIN_VALUE;
    }
    if (x < min || x > max) {
      throw new IllegalArgumentException(
          "engine."
              + key
              + ": '"
              + v
              + "' is not allowed; an integer in ["
              + min
              + ", "
              + max
              + "]");
    }
    return x;
  }
}
