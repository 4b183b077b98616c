package io.tokendrift.trace;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns headers and run records into single JSON lines and back. Field order is fixed and maps are
 * written sorted, so the same record always gives the same bytes.
 */
final class TraceCodec {
  static final ObjectMapper JSON = new ObjectMapper();

  private TraceCodec() {}

  static String header(TraceHeader h) {
    ObjectNode n = JSON.createObjectNode();
    n.put("type", "header");
    n.put("schema", TraceHeader.SCHEMA);
    n.put("experiment", h.experiment());
    n.put("spec_sha256", h.specSha256());
    n.put("grid_size", h.gridSize());
    n.put("reference", h.reference());
    n.put("shard", h.shard());
    putMap(n, "decoding", h.decoding());
    putMap(n, "recording", h.recording());
    putMap(n, "manifest", h.manifest());
    if (!h.expectations().isEmpty()) {
      putMap(n, "expect", h.expectations());
    }
    if (!h.compareWithin().isEmpty()) {
      ArrayNode cw = n.putArray("compare_within");
      h.compareWithin().forEach(cw::add);
    }
    return write(n);
  }

  static String run(RunRecord r) {
    ObjectNode n = JSON.createObjectNode();
    n.put("type", "run");
    n.put("id", r.id());
    n.put("status", r.status().label());
    n.put("prompt_id", r.promptId());
    n.put("prompt", r.prompt());
    ObjectNode p = n.putObject("point");
    r.point().forEach(p::put); // the point's own axis order
    n.put("seed", r.seed());
    n.put("repeat", r.repeat());
    n.put("batch_rows", r.batchRows());
    n.put("batch_row", r.batchRow());
    n.put("elapsed_ms", Math.round(r.elapsedMs() * 1000) / 1000.0);
    if (r.error() != null) {
      n.put("error", r.error());
    }
    if (r.status() == RunRecord.Status.OK) {
      n.put("stop_reason", r.stopReason());
      n.put("text", r.text());
      ints(n.putArray("prompt_tokens"), r.promptTokens());
      ints(n.putArray("tokens"), r.tokens());
      Steps s = r.steps();
      int c = s.size();
      ObjectNode st = n.putObject("steps");
      st.put("n", c);
      st.put("k", s.k());
      st.put("chosen_logit", Columns.floats(s.chosenColumn(), c));
      st.put("top_ids", Columns.varints(s.idColumn(), c * s.k()));
      st.put("top_logits", Columns.floats(s.logitColumn(), c * s.k()));
      st.put("logsumexp", Columns.floats(s.lseColumn(), c));
      st.put("entropy", Columns.floats(s.entropyColumn(), c));
      boolean sampled = false;
      for (int i = 0; i < c; i++) {
        // Gumbel draws have no uniform (NaN) but a score gap: either marks a sampled step.
        sampled |= !Double.isNaN(s.drawColumn()[i]) || !Float.isNaN(s.marginColumn()[i]);
      }
      if (sampled) {
        st.put("draw", Columns.doubles(s.drawColumn(), c));
        st.put("draw_margin", Columns.floats(s.marginColumn(), c));
      }
      st.put("digest", Columns.longs(s.digestColumn(), c));
      if (s.hasExact()) {
        st.put("top_logits64", Columns.doubles(s.exactColumn(), c * s.k()));
      }
      if (s.hasFullLogits()) {
        ArrayNode full = st.putArray("full_logits");
        for (int i = 0; i < c; i++) {
          float[] v = s.fullColumn()[i];
          full.add(Columns.floats(v, v.length));
        }
      }
      if (s.hasTexts()) {
        ArrayNode texts = st.putArray("texts");
        ArrayNode bytes = st.putArray("bytes");
        ArrayNode tops = st.putArray("top_texts");
        for (int i = 0; i < c; i++) {
          texts.add(s.text(i));
          bytes.add(s.bytes(i));
          for (int j = 0; j < s.k(); j++) {
            tops.add(s.topText(i, j));
          }
        }
      }
    }
    ProviderCall pc = r.provider();
    if (pc != null) {
      ObjectNode o = n.putObject("provider");
      o.put("response_id", pc.responseId());
      o.put("model", pc.model());
      o.put("system_fingerprint", pc.systemFingerprint());
      o.put("finish_reason", pc.finishReason());
      o.put("prompt_tokens", pc.promptTokens());
      o.put("completion_tokens", pc.completionTokens());
      if (pc.cachedTokens() >= 0) {
        o.put("cached_tokens", pc.cachedTokens());
      }
      o.put("latency_ms", Math.round(pc.latencyMs() * 1000) / 1000.0);
      o.put("http_status", pc.httpStatus());
      o.put("attempts", pc.attempts());
      o.put("logprobs", pc.logprobs());
      if (!pc.retries().isEmpty()) {
        ArrayNode rs = o.putArray("retries");
        for (ProviderCall.Retry t : pc.retries()) {
          ObjectNode x = rs.addObject();
          x.put("status", t.status());
          x.put("kind", t.kind());
          x.put("reason", t.reason());
          x.put("wait_ms", t.waitMs());
        }
      }
      if (pc.inFlight() >= 0) {
        o.put("in_flight", pc.inFlight());
      }
    }
    ProcessInfo pi = r.process();
    if (pi != null) {
      ObjectNode o = n.putObject("process");
      o.put("env", pi.env());
      o.put("pid", pi.pid());
      putMap(o, "vars", pi.vars());
    }
    return write(n);
  }

  private static List<ProviderCall.Retry> retries(JsonNode n, String where) {
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw new TraceFormatException(where + " is not a list");
    }
    List<ProviderCall.Retry> out = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      JsonNode t = n.get(i);
      if (!t.isObject() || !t.path("kind").isTextual()) {
        throw new TraceFormatException(
            where + "[" + i + "] must be an object with status, kind, reason and wait_ms");
      }
      out.add(
          new ProviderCall.Retry(
              t.path("status").asInt(0),
              t.get("kind").asText(),
              t.path("reason").asText(""),
              t.path("wait_ms").asLong(0)));
    }
    return out;
  }

  private static void ints(ArrayNode a, int[] v) {
    for (int x : v) {
      a.add(x);
    }
  }

  private static void putMap(ObjectNode n, String field, Map<String, String> m) {
    ObjectNode o = n.putObject(field);
    new TreeMap<>(m).forEach(o::put);
  }

  private static String write(ObjectNode n) {
    try {
      return JSON.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  // --- reading ---------------------------------------------------------------------------------

  static TraceHeader readHeader(JsonNode n, String where) {
    String schema = text(n, "schema", where);
    if (!schema.startsWith("tokendrift.trace/")) {
      throw new TraceFormatException(where + ": not a tokendrift trace (schema " + schema + ")");
    }
    if (!TraceHeader.READS.contains(schema)) {
      throw new TraceFormatException(
          where
              + ": schema "
              + schema
              + " is not supported; this version reads "
              + String.join(", ", TraceHeader.READS));
    }
    return new TraceHeader(
        text(n, "experiment", where),
        text(n, "spec_sha256", where),
        number(n, "grid_size", where),
        text(n, "reference", where),
        map(n, "decoding", where),
        map(n, "recording", where),
        text(n, "shard", where),
        map(n, "manifest", where),
        n.has("expect") ? map(n, "expect", where) : Map.of(),
        compareWithin(n.get("compare_within"), where));
  }

  private static List<String> compareWithin(JsonNode n, String where) {
    if (n == null) {
      return List.of();
    }
    if (!n.isArray()) {
      throw new TraceFormatException(where + ": field 'compare_within' is not a list");
    }
    List<String> out = new ArrayList<>();
    n.forEach(x -> out.add(x.asText()));
    return out;
  }

  static RunRecord readRun(JsonNode n, String where) {
    return readRun(n, where, true);
  }

  /** A run; without {@code withSteps} its per-step columns are left undecoded (empty). */
  static RunRecord readRun(JsonNode n, String where, boolean withSteps) {
    RunRecord.Status status =
        switch (text(n, "status", where)) {
          case "ok" -> RunRecord.Status.OK;
          case "failed" -> RunRecord.Status.FAILED;
          case "skipped" -> RunRecord.Status.SKIPPED;
          default ->
              throw new TraceFormatException(
                  where + ": field 'status' must be ok, failed or skipped");
        };
    Map<String, String> point = new LinkedHashMap<>();
    JsonNode p = n.get("point");
    if (p == null || !p.isObject()) {
      throw new TraceFormatException(where + ": field 'point' is missing or not an object");
    }
    p.fields().forEachRemaining(e -> point.put(e.getKey(), e.getValue().asText()));
    String error = n.has("error") ? n.get("error").asText() : null;
    String stop = null;
    String text = "";
    int[] promptTokens = new int[0];
    int[] tokens = new int[0];
    Steps steps = new Steps(1, false);
    if (status == RunRecord.Status.OK) {
      stop = text(n, "stop_reason", where);
      text = text(n, "text", where);
      promptTokens = intArray(n, "prompt_tokens", where);
      tokens = intArray(n, "tokens", where);
      steps = withSteps ? readSteps(n.get("steps"), where + ": steps") : new Steps(1, false);
      if (withSteps && steps.size() != tokens.length) {
        throw new TraceFormatException(
            where + ": " + tokens.length + " tokens but " + steps.size() + " recorded steps");
      }
    }
    ProviderCall provider = null;
    JsonNode pc = n.get("provider");
    if (pc != null) {
      if (!pc.isObject()) {
        throw new TraceFormatException(where + ": field 'provider' is not an object");
      }
      provider =
          new ProviderCall(
              textOrNull(pc.get("response_id")),
              textOrNull(pc.get("model")),
              textOrNull(pc.get("system_fingerprint")),
              textOrNull(pc.get("finish_reason")),
              pc.path("prompt_tokens").asInt(-1),
              pc.path("completion_tokens").asInt(-1),
              pc.path("cached_tokens").asInt(-1),
              pc.path("latency_ms").asDouble(),
              pc.path("http_status").asInt(0),
              pc.path("attempts").asInt(1),
              pc.path("logprobs").asBoolean(true),
              retries(pc.get("retries"), where + ": provider.retries"),
              pc.path("in_flight").asInt(-1));
    }
    ProcessInfo process = null;
    JsonNode pn = n.get("process");
    if (pn != null) {
      if (!pn.isObject() || !pn.path("env").isTextual() || !pn.path("vars").isObject()) {
        throw new TraceFormatException(
            where + ": field 'process' must be an object with env (text), pid and vars (object)");
      }
      java.util.SortedMap<String, String> vars = new java.util.TreeMap<>();
      pn.get("vars").fields().forEachRemaining(e -> vars.put(e.getKey(), e.getValue().asText()));
      process = new ProcessInfo(pn.get("env").asText(), pn.path("pid").asLong(-1), vars);
    }
    return RunRecord.of(text(n, "id", where), status)
        .prompt(text(n, "prompt_id", where), text(n, "prompt", where))
        .at(point, number(n, "seed", where), (int) number(n, "repeat", where))
        .output(stop, text, promptTokens, tokens)
        .batch(
            n.path("elapsed_ms").asDouble(),
            (int) number(n, "batch_rows", where),
            (int) number(n, "batch_row", where))
        .error(error)
        .steps(steps)
        .provider(provider)
        .process(process)
        .build();
  }

  private static String textOrNull(JsonNode v) {
    return v == null || !v.isTextual() ? null : v.asText();
  }

  private static String[] strings(JsonNode a, int count, String where) {
    if (a == null || !a.isArray() || a.size() != count) {
      throw new TraceFormatException(where + " must be a list of " + count + " strings or nulls");
    }
    String[] out = new String[count];
    for (int i = 0; i < count; i++) {
      out[i] = a.get(i).isNull() ? null : a.get(i).asText();
    }
    return out;
  }

  private static Steps readSteps(JsonNode s, String where) {
    if (s == null || !s.isObject()) {
      throw new TraceFormatException(where + " is missing or not an object");
    }
    int n = (int) number(s, "n", where);
    int k = (int) number(s, "k", where);
    try {
      double[] draws;
      float[] margins;
      if (s.has("draw")) {
        draws = Columns.doubles(text(s, "draw", where), n, "draw");
        margins = Columns.floats(text(s, "draw_margin", where), n, "draw_margin");
      } else {
        draws = new double[n];
        margins = new float[n];
        java.util.Arrays.fill(draws, Double.NaN);
        java.util.Arrays.fill(margins, Float.NaN);
      }
      float[][] full = null;
      if (s.has("full_logits")) {
        JsonNode f = s.get("full_logits");
        full = new float[n][];
        for (int i = 0; i < n; i++) {
          String b64 = f.get(i).asText();
          int bytes = java.util.Base64.getDecoder().decode(b64).length;
          full[i] = Columns.floats(b64, bytes / 4, "full_logits[" + i + "]");
        }
      }
      Steps out =
          Steps.of(
              k,
              n,
              Columns.floats(text(s, "chosen_logit", where), n, "chosen_logit"),
              Columns.varints(text(s, "top_ids", where), n * k, "top_ids"),
              Columns.floats(text(s, "top_logits", where), n * k, "top_logits"),
              Columns.floats(text(s, "logsumexp", where), n, "logsumexp"),
              Columns.floats(text(s, "entropy", where), n, "entropy"),
              draws,
              margins,
              Columns.longs(text(s, "digest", where), n, "digest"),
              full);
      if (s.has("top_logits64")) {
        out.exactColumn(Columns.doubles(text(s, "top_logits64", where), n * k, "top_logits64"));
      }
      if (s.has("texts")) {
        out.setTexts(
            strings(s.get("texts"), n, where + ".texts"),
            strings(s.get("top_texts"), n * k, where + ".top_texts"),
            strings(s.get("bytes"), n, where + ".bytes"));
      }
      return out;
    } catch (TraceFormatException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new TraceFormatException(where + "." + e.getMessage(), e);
    }
  }

  private static String text(JsonNode n, String field, String where) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new TraceFormatException(where + ": field '" + field + "' is missing or not a string");
    }
    return v.asText();
  }

  private static long number(JsonNode n, String field, String where) {
    JsonNode v = n.get(field);
    if (v == null || !v.isIntegralNumber()) {
      throw new TraceFormatException(
          where + ": field '" + field + "' is missing or not an integer");
    }
    return v.asLong();
  }

  private static int[] intArray(JsonNode n, String field, String where) {
    JsonNode v = n.get(field);
    if (v == null || !v.isArray()) {
      throw new TraceFormatException(where + ": field '" + field + "' is missing or not a list");
    }
    int[] out = new int[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = v.get(i).asInt();
    }
    return out;
  }

  private static Map<String, String> map(JsonNode n, String field, String where) {
    JsonNode v = n.get(field);
    if (v == null || !v.isObject()) {
      throw new TraceFormatException(where + ": field '" + field + "' is missing or not an object");
    }
    Map<String, String> out = new TreeMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = v.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }
}
