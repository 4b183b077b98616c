package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Reads a spec's {@code axes}: the conditions and the values each takes. */
final class AxesReader {
  static final Set<String> AXES =
      SpecFields.keys(
          "device",
          "batch",
          "summation",
          "precision",
          "threads",
          "batch_invariant",
          "kv_cache",
          "env",
          "engine",
          "repeats",
          "concurrency",
          "logprobs",
          "seed",
          "api",
          "interval_seconds",
          "request");
  private static final Set<String> DEVICE = SpecFields.keys("values", "optional");
  private static final Set<String> BATCH = SpecFields.keys("sizes", "positions");

  private final SpecFields f;

  AxesReader(SpecFields f) {
    this.f = f;
  }

  SpecAxes read(JsonNode n) {
    String at = "axes";
    if (n == null) {
      n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    } else if (!n.isObject()) {
      throw f.error(at, "must be a mapping with keys " + String.join(", ", AXES));
    } else {
      f.checkKeys(n, at, AXES);
    }
    boolean optional = false;
    JsonNode d = n.get("device");
    JsonNode dv = d;
    String dat = at + ".device";
    if (d != null && d.isObject()) {
      f.checkKeys(d, dat, DEVICE);
      optional = f.bool(d, dat + ".optional", false);
      dv = d.get("values");
      dat = dat + ".values";
      if (dv == null) {
        throw f.error(at + ".device", "missing key 'values' (a list of cpu, gpu, gpu:N)");
      }
    }
    List<DeviceSpec> devices = devices(dv, dat);
    List<Integer> sizes = List.of(1);
    List<String> positions = List.of(Defaults.BATCH_POSITION);
    JsonNode b = n.get("batch");
    if (b != null) {
      if (!b.isObject()) {
        throw f.error(at + ".batch", "must be a mapping with keys sizes, positions");
      }
      f.checkKeys(b, at + ".batch", BATCH);
      sizes = f.integers(b.get("sizes"), at + ".batch.sizes", List.of(1), 1, 256);
      positions = positions(b.get("positions"), at + ".batch.positions", sizes);
    }
    return SpecAxes.builder()
        .devices(devices, optional)
        .batch(sizes, positions)
        .summations(summations(n.get("summation"), at + ".summation"))
        .precisions(precisions(n.get("precision"), at + ".precision"))
        .threads(f.integers(n.get("threads"), at + ".threads", List.of(Defaults.THREADS), 0, 1024))
        .batchInvariant(invariant(n.get("batch_invariant"), at + ".batch_invariant"))
        .repeats(f.integer(n, at + ".repeats", Defaults.REPEATS, 1, 1000))
        .kvCache(kvCache(n.get("kv_cache"), at + ".kv_cache"))
        .env(EnvReader.read(f, n.get("env"), at + ".env"))
        .build();
  }

  private static final java.util.regex.Pattern ENV_NAME =
      java.util.regex.Pattern.compile("[a-z0-9][a-z0-9_.-]{0,39}");

  /**
   * Refuses a name that points would carry ({@code env=NAME}, {@code engine=NAME}) unless usable.
   */
  static void checkName(SpecFields f, String name, String at) {
    if (!ENV_NAME.matcher(name).matches()) {
      throw f.error(
          at,
          "'"
              + name
              + "' is not a usable name: lower-case letters, digits, '_', '.', '-' (up to 40,"
              + " starting with a letter or digit)");
    }
  }

  private List<DeviceSpec> devices(JsonNode dv, String dat) {
    List<DeviceSpec> devices = new ArrayList<>();
    List<String> dvs = f.strings(dv, dat, List.of("cpu"), "cpu, gpu, gpu:N");
    for (int i = 0; i < dvs.size(); i++) {
      String s = dvs.get(i);
      String el = dat + "[" + i + "]";
      DeviceSpec spec;
      try {
        spec = DeviceSpec.parse(s);
      } catch (IllegalArgumentException e) {
        throw f.error(el, "'" + s + "' is not known; allowed: cpu, gpu, gpu:N");
      }
      if (devices.contains(spec)) {
        throw f.error(el, "device " + spec + " is listed twice");
      }
      devices.add(spec);
    }
    return List.copyOf(devices);
  }

  private List<SummationOrder> summations(JsonNode n, String at) {
    List<SummationOrder> sums = new ArrayList<>();
    List<String> svs =
        f.strings(
            n, at, List.of("native"), "native, splitk:S:forward|reverse|pairwise|shuffle:SEED");
    for (int i = 0; i < svs.size(); i++) {
      String s = svs.get(i);
      String el = at + "[" + i + "]";
      try {
        SummationOrder o = SummationOrder.parse(s);
        if (sums.contains(o)) {
          throw f.error(el, "'" + s + "' is listed twice");
        }
        sums.add(o);
      } catch (SpecException e) {
        throw e;
      } catch (IllegalArgumentException e) {
        throw f.error(el, e.getMessage());
      }
    }
    return List.copyOf(sums);
  }

  private List<Precision> precisions(JsonNode n, String at) {
    List<Precision> precisions = new ArrayList<>();
    List<String> pvs = f.strings(n, at, List.of("fp32"), "fp32, fp16");
    for (int i = 0; i < pvs.size(); i++) {
      String s = pvs.get(i);
      String el = at + "[" + i + "]";
      try {
        Precision p = Precision.parse(s);
        if (precisions.contains(p)) {
          throw f.error(el, "'" + s + "' is listed twice");
        }
        precisions.add(p);
      } catch (SpecException e) {
        throw e;
      } catch (IllegalArgumentException e) {
        throw f.error(el, "'" + s + "' is not known; allowed: fp32, fp16, bf16");
      }
    }
    return List.copyOf(precisions);
  }

  /** {@code kv_cache: [on, off]}: empty when absent (the cache on, points not naming it). */
  private List<Boolean> kvCache(JsonNode n, String at) {
    if (n == null) {
      return List.of();
    }
    if (!n.isArray() || n.isEmpty()) {
      throw f.error(at, "must be a non-empty list of on, off");
    }
    List<Boolean> out = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      // YAML 1.1 reads a bare on/off as true/false: both spellings mean the same.
      JsonNode e = n.get(i);
      String s = e.isBoolean() ? (e.asBoolean() ? "on" : "off") : e.isTextual() ? e.asText() : null;
      if (s == null) {
        throw f.error(at + "[" + i + "]", "must be on or off; got " + f.kind(e));
      }
      if (!s.equals("on") && !s.equals("off")) {
        throw f.error(
            at + "[" + i + "]",
            "'"
                + s
                + "' is not known; allowed: on (decode with the cache), off (recompute the"
                + " prefix every step)");
      }
      if (out.contains(s.equals("on"))) {
        throw f.error(at + "[" + i + "]", "'" + s + "' is listed twice");
      }
      out.add(s.equals("on"));
    }
    return List.copyOf(out);
  }

  private List<Boolean> invariant(JsonNode bi, String at) {
    List<Boolean> invariant = new ArrayList<>();
    if (bi == null) {
      invariant.add(false);
      return List.copyOf(invariant);
    }
    if (!bi.isArray() || bi.isEmpty()) {
      throw f.error(at, "must be a non-empty list of true/false");
    }
    for (int i = 0; i < bi.size(); i++) {
      String p = at + "[" + i + "]";
      if (!bi.get(i).isBoolean()) {
        throw f.error(p, "must be true or false; got " + f.kind(bi.get(i)));
      }
      if (invariant.contains(bi.get(i).asBoolean())) {
        throw f.error(p, bi.get(i).asBoolean() + " is listed twice");
      }
      invariant.add(bi.get(i).asBoolean());
    }
    return List.copyOf(invariant);
  }

  /**
   * Reads the provider axes of a remote engine's spec; for a local engine, refuses them.
   *
   * @param defaultApi the engine's {@code api} option
   * @param local whether the experiment starts its own server (then batch_invariant is its mode)
   */
  ProviderAxes provider(
      JsonNode n, EngineSpec engine, boolean remote, String defaultApi, boolean local, SpecAxes a) {
    String at = "axes";
    if (!remote) {
      if (n != null && n.isObject()) {
        for (String k : ProviderAxes.KEYS) {
          if (n.has(k)) {
            throw f.error(
                at + "." + k,
                "applies to an HTTP provider (engine: {kind: openai, ...}); engine '"
                    + engine.kind()
                    + "' runs forward passes itself: vary batch sizes and positions instead");
          }
        }
      }
      return null;
    }
    if (n == null) {
      n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    }
    List<Integer> conc =
        f.integers(n.get("concurrency"), at + ".concurrency", Defaults.CONCURRENCY, 1, 4096);
    List<Boolean> lp = bools(n.get("logprobs"), at + ".logprobs", List.of(true));
    List<String> seeds =
        f.strings(n.get("seed"), at + ".seed", Defaults.SEED_SENT, "sent, omitted");
    List<Boolean> sent = new ArrayList<>();
    for (int i = 0; i < seeds.size(); i++) {
      String s = seeds.get(i);
      if (!s.equals("sent") && !s.equals("omitted")) {
        throw f.error(at + ".seed[" + i + "]", "'" + s + "' is not known; allowed: sent, omitted");
      }
      if (sent.contains(s.equals("sent"))) {
        throw f.error(at + ".seed[" + i + "]", "'" + s + "' is listed twice");
      }
      sent.add(s.equals("sent"));
    }
    List<String> apis =
        f.strings(n.get("api"), at + ".api", List.of(defaultApi), "chat, completions");
    for (int i = 0; i < apis.size(); i++) {
      if (!apis.get(i).equals("chat") && !apis.get(i).equals("completions")) {
        throw f.error(
            at + ".api[" + i + "]",
            "'" + apis.get(i) + "' is not known; allowed: chat, completions");
      }
      if (apis.indexOf(apis.get(i)) != i) {
        throw f.error(at + ".api[" + i + "]", "'" + apis.get(i) + "' is listed twice");
      }
    }
    double interval = f.number(n, at + ".interval_seconds", 0);
    if (!(interval >= 0 && interval <= 86_400)) {
      throw f.error(at + ".interval_seconds", "must be in [0, 86400] seconds");
    }
    return new ProviderAxes(
        apis,
        local ? a.batchInvariant() : List.of(),
        local && n.has("precision")
            ? a.precisions().stream().map(io.tokendrift.engine.Precision::label).toList()
            : List.of(),
        conc,
        lp,
        sent,
        interval,
        requests(n.get("request"), at + ".request"),
        null,
        null);
  }

  /** Fields of a request that tokendrift sets itself (from decoding: and the other axes). */
  static final List<String> OWN_FIELDS =
      List.of(
          "model",
          "prompt",
          "messages",
          "max_tokens",
          "temperature",
          "top_p",
          "n",
          "stream",
          "seed",
          "stop",
          "logprobs",
          "top_logprobs");

  private static final java.util.regex.Pattern REQUEST_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  /**
   * {@code axes.request}: a mapping of names to mappings of extra JSON fields, e.g. {@code
   * {cache_on: {cache_prompt: true}, cache_off: {cache_prompt: false}}}. Each set's fields as a
   * JSON object with sorted keys.
   */
  private java.util.Map<String, String> requests(JsonNode n, String at) {
    java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
    if (n == null) {
      return out;
    }
    if (!n.isObject() || n.isEmpty()) {
      throw f.error(
          at,
          "must be a mapping of names to sets of extra request fields, e.g. {cache_on:"
              + " {cache_prompt: true}, cache_off: {cache_prompt: false}}");
    }
    var it = n.fields();
    while (it.hasNext()) {
      var e = it.next();
      String p = at + "." + e.getKey();
      if (!REQUEST_NAME.matcher(e.getKey()).matches()) {
        throw f.error(
            p,
            "is not a usable name; letters, digits, '_', '.', '-' (at most 64, a letter or digit"
                + " first)");
      }
      if (!e.getValue().isObject()) {
        throw f.error(p, "must be a mapping of JSON fields to send ({} sends none)");
      }
      var fields = e.getValue().fieldNames();
      while (fields.hasNext()) {
        String k = fields.next();
        if (OWN_FIELDS.contains(k)) {
          throw f.error(
              p + "." + k,
              "is a field tokendrift sets itself (from decoding: and the other axes); the"
                  + " request sets may add only others: "
                  + String.join(", ", OWN_FIELDS)
                  + " are taken");
        }
      }
      out.put(e.getKey(), canonical(e.getValue()));
    }
    return out;
  }

  /** JSON text of an object with its keys sorted at every level. */
  static String canonical(JsonNode n) {
    try {
      com.fasterxml.jackson.databind.ObjectMapper m =
          com.fasterxml.jackson.databind.json.JsonMapper.builder()
              .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
              .build();
      return m.writeValueAsString(m.treeToValue(n, Object.class));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private List<Boolean> bools(JsonNode bi, String at, List<Boolean> def) {
    return bi == null ? def : invariant(bi, at);
  }

  private List<String> positions(JsonNode n, String at, List<Integer> sizes) {
    if (n == null) {
      return List.of(Defaults.BATCH_POSITION);
    }
    if (!n.isArray() || n.isEmpty()) {
      throw f.error(at, "must be a non-empty list of first, middle, last or row numbers");
    }
    int smallest = sizes.stream().mapToInt(Integer::intValue).min().orElse(1);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      JsonNode v = n.get(i);
      String p = at + "[" + i + "]";
      String s;
      if (v.isIntegralNumber()) {
        int k = v.asInt();
        if (k < 0 || k >= smallest) {
          throw f.error(
              p,
              "row "
                  + k
                  + " does not fit batch size "
                  + smallest
                  + "; allowed: first, middle, last or a row number in [0, "
                  + (smallest - 1)
                  + "]");
        }
        s = Integer.toString(k);
      } else if (v.isTextual() && Set.of("first", "middle", "last").contains(v.asText())) {
        s = v.asText();
      } else {
        throw f.error(p, "allowed: first, middle, last or a row number; got " + f.kind(v));
      }
      if (out.contains(s)) {
        throw f.error(p, "'" + s + "' is listed twice");
      }
      out.add(s);
    }
    return List.copyOf(out);
  }
}
