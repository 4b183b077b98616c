package io.tokendrift.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.decode.DrawMethod;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.model.ChatTemplate;
import java.util.ArrayList;
import java.util.List;

/**
 * A completions or chat request, read and checked field by field; a wrong field is a 400 naming it.
 *
 * @param chat true for /v1/chat/completions
 * @param model the model asked for, or null
 * @param prompt the prompt text (chat: after the template)
 * @param maxTokens tokens to generate at most
 * @param sampling temperature, top-k, top-p
 * @param seed the draw seed (0 when not given: the same request, the same draws)
 * @param stop stop sequences
 * @param topLogprobs alternatives per token to report, -1 for no logprobs
 * @param stream answer as server-sent events
 */
record Request(
    boolean chat,
    String model,
    String prompt,
    int maxTokens,
    SamplingSettings sampling,
    long seed,
    List<String> stop,
    int topLogprobs,
    boolean stream) {

  /** Largest top_logprobs, as OpenAI's API allows. */
  static final int MAX_TOP_LOGPROBS = 20;

  /** Fields a request may carry, read and honoured. */
  private static final java.util.Set<String> READ =
      java.util.Set.of(
          "model",
          "n",
          "max_tokens",
          "max_completion_tokens",
          "temperature",
          "top_p",
          "top_k",
          "seed",
          "stop",
          "logprobs",
          "top_logprobs",
          "stream");

  /**
   * Fields of OpenAI's API this server does not apply (it samples without penalties, biases or
   * best-of), accepted only at the value that changes nothing (what a client library sends by
   * default); any other value is refused, never ignored.
   */
  private static final java.util.Map<String, java.util.function.Predicate<JsonNode>> NEUTRAL =
      java.util.Map.of(
          "user", v -> true,
          "stream_options", v -> true,
          "presence_penalty", v -> v.isNumber() && v.asDouble() == 0,
          "frequency_penalty", v -> v.isNumber() && v.asDouble() == 0,
          "logit_bias", v -> v.isObject() && v.isEmpty(),
          "best_of", v -> v.isNumber() && v.asInt() == 1,
          "echo", v -> v.isBoolean() && !v.asBoolean());

  static Request parse(JsonNode n, boolean chat, ChatTemplate template) {
    return parse(n, chat, template, false);
  }

  /**
   * Reads a request body.
   *
   * @param allowUnknown skip fields this server does not know (serve's --allow-unknown-fields)
   *     instead of refusing them: a probing tool must not silently sample with a misspelled setting
   */
  static Request parse(JsonNode n, boolean chat, ChatTemplate template, boolean allowUnknown) {
    if (n == null || !n.isObject()) {
      throw ApiException.invalid(null, "the body must be a JSON object");
    }
    for (var it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (READ.contains(f) || f.equals(chat ? "messages" : "prompt")) {
        continue;
      }
      if (f.equals(chat ? "prompt" : "messages")) {
        throw ApiException.invalid(
            f,
            "'"
                + f
                + "' belongs to "
                + (chat ? "/v1/completions" : "/v1/chat/completions")
                + "; this endpoint reads '"
                + (chat ? "messages" : "prompt")
                + "'");
      }
      var neutral = NEUTRAL.get(f);
      if (neutral != null) {
        if (!n.get(f).isNull() && !neutral.test(n.get(f))) {
          throw ApiException.invalid(
              f,
              "'"
                  + f
                  + "' is not applied by this server (it samples without penalties, biases or"
                  + " best-of); only its neutral value is accepted (another would be ignored,"
                  + " changing what you measure)");
        }
        continue;
      }
      if (!allowUnknown) {
        String near = nearest(f);
        throw ApiException.invalid(
            f,
            "unknown field '"
                + f
                + "'"
                + (near == null ? "" : " (did you mean '" + near + "'?)")
                + "; allowed: "
                + String.join(", ", new java.util.TreeSet<>(READ))
                + " (and at their defaults: "
                + String.join(", ", new java.util.TreeSet<>(NEUTRAL.keySet()))
                + "); start serve with --allow-unknown-fields to skip fields it does not know");
      }
    }
    String model = n.hasNonNull("model") ? text(n, "model") : null;
    String prompt;
    if (chat) {
      try {
        prompt = template.render(n.get("messages"));
      } catch (ChatTemplate.InvalidMessages e) {
        throw ApiException.invalid(e.field(), e.getMessage());
      }
    } else {
      JsonNode p = n.get("prompt");
      if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
        p = p.get(0);
      }
      if (p == null || !p.isTextual() || p.asText().isEmpty()) {
        throw ApiException.invalid(
            "prompt", "'prompt' must be a non-empty string (or a list of one string)");
      }
      prompt = p.asText();
    }
    int n1 = integer(n, "n", 1, 1, 1);
    int maxTokens =
        chat && n.hasNonNull("max_completion_tokens")
            ? integer(n, "max_completion_tokens", 16, 1, 100_000)
            : integer(n, "max_tokens", chat ? 256 : 16, 1, 100_000);
    double temperature = number(n, "temperature", 1.0, 0, 2);
    double topP = number(n, "top_p", 1.0, Double.MIN_VALUE, 1);
    int topK = integer(n, "top_k", 0, 0, Integer.MAX_VALUE);
    if (temperature > 0 && temperature < SamplingSettings.MIN_TEMPERATURE) {
      throw ApiException.invalid(
          "temperature", "'temperature' must be 0 or at least " + SamplingSettings.MIN_TEMPERATURE);
    }
    long seed =
        n.hasNonNull("seed") ? integer(n, "seed", 0, Integer.MIN_VALUE, Integer.MAX_VALUE) : 0;
    List<String> stop = stop(n.get("stop"));
    int top = logprobs(n, chat);
    boolean stream = n.hasNonNull("stream") && bool(n, "stream");
    SamplingSettings s =
        temperature == 0
            ? SamplingSettings.GREEDY
            : new SamplingSettings(temperature, topK, topP, DrawMethod.INVERSE_CDF);
    assert n1 == 1;
    return new Request(chat, model, prompt, maxTokens, s, seed, stop, top, stream);
  }

  private static int logprobs(JsonNode n, boolean chat) {
    if (chat) {
      boolean want = n.hasNonNull("logprobs") && bool(n, "logprobs");
      int top = integer(n, "top_logprobs", 0, 0, MAX_TOP_LOGPROBS);
      if (n.hasNonNull("top_logprobs") && !want) {
        throw ApiException.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true");
      }
      return want ? top : -1;
    }
    return n.hasNonNull("logprobs") ? integer(n, "logprobs", 0, 0, MAX_TOP_LOGPROBS) : -1;
  }

  private static List<String> stop(JsonNode s) {
    List<String> out = new ArrayList<>();
    if (s == null || s.isNull()) {
      return out;
    }
    if (s.isTextual()) {
      out.add(s.asText());
    } else if (s.isArray() && s.size() <= 4) {
      for (JsonNode v : s) {
        if (!v.isTextual()) {
          throw ApiException.invalid("stop", "'stop' must be a string or a list of up to 4");
        }
        out.add(v.asText());
      }
    } else {
      throw ApiException.invalid("stop", "'stop' must be a string or a list of up to 4 strings");
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw ApiException.invalid("stop", "'stop' sequences must not be empty");
    }
    return out;
  }

  private static String text(JsonNode n, String f) {
    JsonNode v = n.get(f);
    if (!v.isTextual()) {
      throw ApiException.invalid(f, "'" + f + "' must be a string");
    }
    return v.asText();
  }

  private static boolean bool(JsonNode n, String f) {
    JsonNode v = n.get(f);
    if (!v.isBoolean()) {
      throw ApiException.invalid(f, "'" + f + "' must be true or false");
    }
    return v.asBoolean();
  }

  private static int integer(JsonNode n, String f, int def, int min, int max) {
    JsonNode v = n.get(f);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
      String range = min == max ? "only " + min + " is supported" : "allowed: " + min + ".." + max;
      throw ApiException.invalid(f, "'" + f + "' is " + v + "; " + range);
    }
    return v.asInt();
  }

  private static double number(JsonNode n, String f, double def, double min, double max) {
    JsonNode v = n.get(f);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
      throw ApiException.invalid(f, "'" + f + "' is " + v + "; allowed: " + min + ".." + max);
    }
    return v.asDouble();
  }

  private static final org.apache.commons.text.similarity.LevenshteinDistance DISTANCE =
      org.apache.commons.text.similarity.LevenshteinDistance.getDefaultInstance();

  /** The known field within two edits of {@code f}, for "did you mean". */
  private static String nearest(String f) {
    String best = null;
    int bestD = 3;
    for (String k : new java.util.TreeSet<>(READ)) {
      int d = DISTANCE.apply(f, k);
      if (d < bestD) {
        best = k;
        bestD = d;
      }
    }
    return best;
  }
}
