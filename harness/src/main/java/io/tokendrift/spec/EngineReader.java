package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a spec's engines: the top-level {@code engine}, and the engine axis {@code axes.engine}.
 */
final class EngineReader {
  private final SpecFields f;

  EngineReader(SpecFields f) {
    this.f = f;
  }

  /**
   * Reads an engine given at {@code at} ({@code engine}, or {@code axes.engine.NAME}): a kind
   * ({@code engine: djl}) or a mapping with {@code kind} and the engine's own options; absent, the
   * built-in engine.
   */
  EngineSpec read(JsonNode n, String at) {
    if (n == null || n.isNull()) {
      return EngineSpec.DEFAULT;
    }
    String kind;
    Map<String, String> options = new TreeMap<>();
    if (n.isTextual()) {
      kind = n.asText();
    } else if (n.isObject()) {
      kind = f.string(n, at + ".kind", null);
      var it = n.fields();
      while (it.hasNext()) {
        var e = it.next();
        if (e.getKey().equals("kind")) {
          continue;
        }
        JsonNode v = e.getValue();
        if (!v.isValueNode() || v.isNull()) {
          throw f.error(
              at + "." + e.getKey(), "must be a string, number or true/false; got " + f.kind(v));
        }
        options.put(e.getKey(), v.asText());
      }
    } else {
      throw f.error(at, "must be an engine kind or a mapping {kind, ...}; got " + f.kind(n));
    }
    EngineSpec spec = new EngineSpec(kind, options);
    try {
      Engines.check(spec);
    } catch (Engines.UnknownOptionException e) {
      throw f.error(at + "." + e.key(), e.getMessage());
    } catch (IllegalArgumentException e) {
      throw f.error(n.isObject() ? at + ".kind" : at, e.getMessage());
    }
    return spec;
  }

  /**
   * Reads {@code axes.engine: {NAME: {kind: ..., options}, ...}}: the engines the points run on;
   * empty when absent.
   */
  List<ExperimentSpec.NamedEngine> axis(JsonNode root) {
    JsonNode a = root.get("axes");
    JsonNode n = a == null || !a.isObject() ? null : a.get("engine");
    if (n == null) {
      return List.of();
    }
    String at = "axes.engine";
    if (!n.isObject() || n.isEmpty()) {
      throw f.error(
          at,
          "must be a mapping of names to engines, e.g. {djl: {kind: djl}, torch: {kind: torch,"
              + " python: python3}}");
    }
    if (root.has("engine")) {
      throw f.error(
          "engine",
          "this spec names its engines under axes.engine; leave the top-level engine out");
    }
    List<ExperimentSpec.NamedEngine> out = new ArrayList<>();
    for (var it = n.fields(); it.hasNext(); ) {
      var e = it.next();
      String name = e.getKey();
      String el = at + "." + name;
      AxesReader.checkName(f, name, el);
      if (e.getValue() == null || e.getValue().isNull()) {
        throw f.error(el, "must be an engine kind or a mapping {kind, ...}");
      }
      EngineSpec spec = read(e.getValue(), el);
      EngineProvider p = Engines.provider(spec.kind());
      if (p.remote()) {
        throw f.error(
            el,
            "engine '"
                + spec.kind()
                + "' answers over HTTP and samples for itself; axes.engine holds local engines"
                + " (the openai engine runs in a spec of its own, compared with `tokendrift"
                + " compare`)");
      }
      try {
        p.checkOptions(spec);
      } catch (IllegalArgumentException ex) {
        throw f.error(el, ex.getMessage());
      }
      out.add(new ExperimentSpec.NamedEngine(name, spec));
    }
    return List.copyOf(out);
  }
}
