package io.tokendrift.engine.openai;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.engine.RemoteReply;
import io.tokendrift.engine.RemoteRequest;
import io.tokendrift.engine.RemoteToken;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Reads a provider's JSON reply, in the chat or the completions shape. */
final class Replies {
  private Replies() {}

  /** A reply that is JSON but not a completion. */
  static final class BadReply extends Exception {
    BadReply(String message) {
      super(message);
    }
  }

  /**
   * Reads a reply.
   *
   * @param n the reply as a tree
   * @param parser reads the body again as a stream, for what a tree loses (duplicate keys)
   */
  static RemoteReply parse(
      JsonNode n,
      java.util.concurrent.Callable<com.fasterxml.jackson.core.JsonParser> parser,
      RemoteRequest r,
      int status,
      int attempts,
      double ms)
      throws BadReply {
    JsonNode choices = n.path("choices");
    if (!choices.isArray() || choices.isEmpty()) {
      throw new BadReply("no 'choices' in the reply");
    }
    JsonNode c = choices.get(0);
    String text;
    if (r.chat()) {
      JsonNode content = c.path("message").path("content");
      if (content.isNull() && c.path("message").isObject()) {
        // A refusal (its text in message.refusal) or a reasoning model cut off by max_tokens: an
        // answer with no content, recorded as the empty text with its finish reason.
        text = "";
      } else if (!content.isTextual()) {
        throw new BadReply("choices[0].message.content is missing or not a string");
      } else {
        text = content.asText();
      }
    } else {
      if (!c.path("text").isTextual()) {
        throw new BadReply("choices[0].text is missing or not a string");
      }
      text = c.get("text").asText();
    }
    List<RemoteToken> tokens = null;
    if (r.logprobs()) {
      JsonNode lp = c.path("logprobs");
      if (lp.isMissingNode() || lp.isNull()) {
        throw new BadReply(
            "logprobs were asked for but choices[0].logprobs is missing (does the provider"
                + " support them? set the logprobs axis to [false])");
      }
      tokens = r.chat() ? chatTokens(lp) : completionTokens(lp, legacyTops(parser));
    }
    JsonNode usage = n.path("usage");
    return new RemoteReply(
        true,
        null,
        status,
        attempts,
        ms,
        text,
        textOrNull(c.path("finish_reason")),
        textOrNull(n.path("id")),
        textOrNull(n.path("model")),
        textOrNull(n.path("system_fingerprint")),
        usage.path("prompt_tokens").asInt(-1),
        usage.path("completion_tokens").asInt(-1),
        usage.path("prompt_tokens_details").path("cached_tokens").asInt(-1),
        tokens,
        java.util.List.of(),
        0,
        0);
  }

  private static List<RemoteToken> chatTokens(JsonNode lp) throws BadReply {
    JsonNode content = lp.path("content");
    if (!content.isArray()) {
      throw new BadReply("choices[0].logprobs.content is missing or not a list");
    }
    List<RemoteToken> out = new ArrayList<>();
    for (int i = 0; i < content.size(); i++) {
      JsonNode t = content.get(i);
      String where = "choices[0].logprobs.content[" + i + "]";
      JsonNode tops = t.path("top_logprobs");
      List<String> texts = new ArrayList<>();
      double[] values = new double[tops.size()];
      for (int j = 0; j < tops.size(); j++) {
        texts.add(string(tops.get(j), "token", where + ".top_logprobs[" + j + "]"));
        values[j] = number(tops.get(j), "logprob", where + ".top_logprobs[" + j + "]");
      }
      out.add(
          sorted(
              string(t, "token", where),
              bytes(t.path("bytes")),
              number(t, "logprob", where),
              texts,
              values));
    }
    return out;
  }

  /**
   * The legacy completions API's {@code choices[0].logprobs.top_logprobs}, read as a stream: each
   * step is an object keyed by token text, and two alternatives with the same text (different ids
   * that decode alike) are two keys of that object — a tree keeps only the last of them. Null when
   * the reply has no such list.
   */
  static List<List<Map.Entry<String, Double>>> legacyTops(
      java.util.concurrent.Callable<com.fasterxml.jackson.core.JsonParser> open) throws BadReply {
    try (com.fasterxml.jackson.core.JsonParser p = open.call()) {
      if (p.nextToken() != JsonToken.START_OBJECT || !into(p, "choices", JsonToken.START_ARRAY)) {
        return null;
      }
      if (p.nextToken() != JsonToken.START_OBJECT
          || !into(p, "logprobs", JsonToken.START_OBJECT)
          || !into(p, "top_logprobs", JsonToken.START_ARRAY)) {
        return null;
      }
      List<List<Map.Entry<String, Double>>> out = new ArrayList<>();
      while (p.nextToken() != JsonToken.END_ARRAY) {
        List<Map.Entry<String, Double>> step = new ArrayList<>();
        if (p.currentToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String k = p.getCurrentName();
            JsonToken v = p.nextToken();
            if (v != JsonToken.VALUE_NUMBER_FLOAT && v != JsonToken.VALUE_NUMBER_INT) {
              throw new BadReply(
                  "choices[0].logprobs.top_logprobs["
                      + out.size()
                      + "]: the logprob of '"
                      + k
                      + "' is not a number");
            }
            step.add(Map.entry(k, p.getDoubleValue()));
          }
        } else {
          p.skipChildren();
        }
        out.add(step);
      }
      return out;
    } catch (BadReply e) {
      throw e;
    } catch (Exception e) {
      throw new BadReply("choices[0].logprobs.top_logprobs could not be read: " + e.getMessage());
    }
  }

  /**
   * Moves the parser, inside an object, to the value of {@code field} when it starts with {@code
   * start}, skipping the fields before it; false when the object has no such field.
   */
  private static boolean into(
      com.fasterxml.jackson.core.JsonParser p, String field, JsonToken start)
      throws java.io.IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.getCurrentName();
      JsonToken t = p.nextToken();
      if (name.equals(field)) {
        return t == start;
      }
      p.skipChildren();
    }
    return false;
  }

  private static List<RemoteToken> completionTokens(
      JsonNode lp, List<List<Map.Entry<String, Double>>> streamed) throws BadReply {
    JsonNode toks = lp.path("tokens");
    JsonNode vals = lp.path("token_logprobs");
    JsonNode tops = lp.path("top_logprobs");
    if (!toks.isArray() || !vals.isArray() || vals.size() != toks.size()) {
      throw new BadReply(
          "choices[0].logprobs needs lists 'tokens' and 'token_logprobs' of the same length");
    }
    List<RemoteToken> out = new ArrayList<>();
    for (int i = 0; i < toks.size(); i++) {
      List<String> texts = new ArrayList<>();
      List<Double> values = new ArrayList<>();
      JsonNode top = tops.path(i);
      if (streamed != null && i < streamed.size()) {
        for (Map.Entry<String, Double> e : streamed.get(i)) {
          texts.add(e.getKey());
          values.add(e.getValue());
        }
      } else if (top.isObject()) {
        Iterator<Map.Entry<String, JsonNode>> it = top.fields();
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> e = it.next();
          texts.add(e.getKey());
          values.add(e.getValue().asDouble());
        }
      }
      if (!toks.get(i).isTextual() || !vals.get(i).isNumber()) {
        throw new BadReply("choices[0].logprobs: token " + i + " has no text or no logprob");
      }
      out.add(
          sorted(
              toks.get(i).asText(),
              null,
              vals.get(i).asDouble(),
              texts,
              values.stream().mapToDouble(Double::doubleValue).toArray()));
    }
    return out;
  }

  /** Alternatives most likely first (stable: the provider's order on ties). */
  private static RemoteToken sorted(
      String text, byte[] bytes, double lp, List<String> texts, double[] values) {
    Integer[] order = new Integer[values.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(values[b], values[a]));
    List<String> t = new ArrayList<>();
    double[] v = new double[values.length];
    for (int i = 0; i < order.length; i++) {
      t.add(texts.get(order[i]));
      v[i] = values[order[i]];
    }
    return new RemoteToken(text, bytes, lp, t, v);
  }

  private static byte[] bytes(JsonNode b) {
    if (!b.isArray()) {
      return null;
    }
    byte[] out = new byte[b.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) b.get(i).asInt();
    }
    return out;
  }

  private static String string(JsonNode n, String field, String where) throws BadReply {
    JsonNode v = n.path(field);
    if (!v.isTextual()) {
      throw new BadReply(where + "." + field + " is missing or not a string");
    }
    return v.asText();
  }

  private static double number(JsonNode n, String field, String where) throws BadReply {
    JsonNode v = n.path(field);
    if (!v.isNumber()) {
      throw new BadReply(where + "." + field + " is missing or not a number");
    }
    return v.asDouble();
  }

  private static String textOrNull(JsonNode n) {
    return n.isTextual() ? n.asText() : null;
  }

  /** The provider's error message: {@code error.message} of OpenAI's error shape, else the body. */
  static String message(String body) {
    if (body == null || body.isBlank()) {
      return "(empty body)";
    }
    try {
      JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
      JsonNode m = n.path("error").path("message");
      if (m.isTextual()) {
        return m.asText();
      }
      if (n.path("error").isTextual()) {
        return n.path("error").asText();
      }
    } catch (java.io.IOException e) {
      // not JSON: the body itself, shortened
    }
    String s = body.strip();
    return s.length() > 300 ? s.substring(0, 300) + "…" : s;
  }
}
