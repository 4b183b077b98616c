package io.tokendrift.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.decode.Completion;
import io.tokendrift.decode.StopReason;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The OpenAI-shaped JSON of responses, stream chunks and errors. */
final class Responses {
  static final ObjectMapper JSON = new ObjectMapper();

  private Responses() {}

  /** Identity shared by a response's body or chunks. */
  record Head(String id, long created, String model, String fingerprint, boolean chat) {}

  static ObjectNode error(ApiException e) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode n = root.putObject("error");
    n.put("message", e.getMessage());
    n.put("type", e.type);
    if (e.param == null) {
      n.putNull("param");
    } else {
      n.put("param", e.param);
    }
    if (e.code == null) {
      n.putNull("code");
    } else {
      n.put("code", e.code);
    }
    return root;
  }

  static String finishReason(Completion c) {
    return c.stopReason() == StopReason.EOS || c.stopReason() == StopReason.STOP_SEQUENCE
        ? "stop"
        : "length";
  }

  private static ObjectNode head(Head h, String object) {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", h.id());
    n.put("object", object);
    n.put("created", h.created());
    n.put("model", h.model());
    n.put("system_fingerprint", h.fingerprint());
    return n;
  }

  /** A whole (non-streamed) response. */
  static ObjectNode body(Head h, Completion c, List<Job.Token> tokens, int top, int promptTokens) {
    ObjectNode n = head(h, h.chat() ? "chat.completion" : "text_completion");
    ObjectNode choice = n.putArray("choices").addObject();
    choice.put("index", 0);
    if (h.chat()) {
      ObjectNode m = choice.putObject("message");
      m.put("role", "assistant");
      m.put("content", c.text());
      m.putNull("refusal");
    } else {
      choice.put("text", c.text());
    }
    logprobs(choice, h.chat(), tokens, top);
    choice.put("finish_reason", finishReason(c));
    ObjectNode u = n.putObject("usage");
    u.put("prompt_tokens", promptTokens);
    u.put("completion_tokens", c.tokens().size());
    u.put("total_tokens", promptTokens + c.tokens().size());
    return n;
  }

  /** One stream chunk: a token's text (and logprobs), or the end with its finish reason. */
  static ObjectNode chunk(Head h, Job.Token t, String finish, int top, boolean first) {
    ObjectNode n = head(h, h.chat() ? "chat.completion.chunk" : "text_completion");
    ObjectNode choice = n.putArray("choices").addObject();
    choice.put("index", 0);
    String text = t == null ? "" : t.delta();
    if (h.chat()) {
      ObjectNode d = choice.putObject("delta");
      if (first) {
        d.put("role", "assistant");
      }
      d.put("content", text);
    } else {
      choice.put("text", text);
    }
    logprobs(choice, h.chat(), t == null ? List.of() : List.of(t), t == null ? -1 : top);
    if (finish == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finish);
    }
    return n;
  }

  private static void logprobs(ObjectNode choice, boolean chat, List<Job.Token> tokens, int top) {
    if (top < 0) {
      choice.putNull("logprobs");
      return;
    }
    ObjectNode lp = choice.putObject("logprobs");
    if (chat) {
      ArrayNode content = lp.putArray("content");
      for (Job.Token t : tokens) {
        ObjectNode e = content.addObject();
        e.put("token", t.text());
        e.put("logprob", t.logprob());
        bytes(e, t.text());
        ArrayNode alts = e.putArray("top_logprobs");
        for (Job.Top a : t.top()) {
          ObjectNode x = alts.addObject();
          x.put("token", a.text());
          x.put("logprob", a.logprob());
          bytes(x, a.text());
        }
      }
      return;
    }
    ArrayNode toks = lp.putArray("tokens");
    ArrayNode values = lp.putArray("token_logprobs");
    ArrayNode tops = lp.putArray("top_logprobs");
    ArrayNode offsets = lp.putArray("text_offset");
    int offset = 0;
    for (Job.Token t : tokens) {
      toks.add(t.text());
      values.add(t.logprob());
      ObjectNode m = tops.addObject();
      for (Job.Top a : t.top()) {
        m.put(a.text(), a.logprob());
      }
      offsets.add(offset);
      offset += t.text().length();
    }
  }

  private static void bytes(ObjectNode n, String text) {
    ArrayNode b = n.putArray("bytes");
    for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
      b.add(x & 0xff);
    }
  }
}
