package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.decode.DrawMethod;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.spec.ExperimentSpec.Decoding;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Reads a spec's {@code decoding}: sampling, stop sequences, seeds and the time budget. */
final class DecodingReader {
  private static final Set<String> DECODING =
      SpecFields.keys(
          "temperature",
          "top_k",
          "top_p",
          "method",
          "max_tokens",
          "stop",
          "seeds",
          "timeout_seconds");

  private final SpecFields f;

  DecodingReader(SpecFields f) {
    this.f = f;
  }

  Decoding read(JsonNode n) {
    String at = "decoding";
    if (n == null) {
      n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    } else if (!n.isObject()) {
      throw f.error(at, "must be a mapping with keys " + String.join(", ", DECODING));
    } else {
      f.checkKeys(n, at, DECODING);
    }
    double temperature = f.number(n, at + ".temperature", Defaults.TEMPERATURE);
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw f.error(at + ".temperature", "(" + temperature + ") must be a finite number >= 0");
    }
    if (temperature > 0 && temperature < SamplingSettings.MIN_TEMPERATURE) {
      throw f.error(
          at + ".temperature",
          "("
              + temperature
              + ") must be 0 (greedy) or at least "
              + SamplingSettings.MIN_TEMPERATURE
              + ": logits / T in float32 overflow below it");
    }
    int topK = f.integer(n, at + ".top_k", Defaults.TOP_K, 0, Integer.MAX_VALUE);
    double topP = f.number(n, at + ".top_p", Defaults.TOP_P);
    if (!(topP > 0 && topP <= 1)) {
      throw f.error(at + ".top_p", "(" + topP + ") must be in (0, 1]");
    }
    String method =
        f.string(n, at + ".method", Defaults.METHOD.name().toLowerCase(java.util.Locale.ROOT));
    DrawMethod m =
        switch (method.toLowerCase(Locale.ROOT)) {
          case "inverse_cdf" -> DrawMethod.INVERSE_CDF;
          case "gumbel" -> DrawMethod.GUMBEL;
          default ->
              throw f.error(
                  at + ".method", "'" + method + "' is not known; allowed: inverse_cdf, gumbel");
        };
    int maxTokens = f.integer(n, at + ".max_tokens", Defaults.MAX_TOKENS, 1, 100_000);
    List<String> stop = new ArrayList<>();
    JsonNode s = n.get("stop");
    if (s != null) {
      if (!s.isArray()) {
        throw f.error(at + ".stop", "must be a list of strings; got " + f.kind(s));
      }
      for (int i = 0; i < s.size(); i++) {
        String p = at + ".stop[" + i + "]";
        if (!s.get(i).isTextual() || s.get(i).asText().isEmpty()) {
          throw f.error(p, "must be a non-empty string; got " + f.kind(s.get(i)));
        }
        stop.add(s.get(i).asText());
      }
    }
    List<Long> seeds = new ArrayList<>();
    JsonNode sd = n.get("seeds");
    if (sd == null) {
      seeds.add(0L);
    } else {
      if (!sd.isArray() || sd.isEmpty()) {
        throw f.error(at + ".seeds", "must be a non-empty list of integers; got " + f.kind(sd));
      }
      for (int i = 0; i < sd.size(); i++) {
        String p = at + ".seeds[" + i + "]";
        if (!sd.get(i).canConvertToLong() || !sd.get(i).isIntegralNumber()) {
          throw f.error(p, "must be an integer; got " + f.kind(sd.get(i)));
        }
        long v = sd.get(i).asLong();
        if (seeds.contains(v)) {
          throw f.error(p, "seed " + v + " is listed twice");
        }
        seeds.add(v);
      }
    }
    double timeout = f.number(n, at + ".timeout_seconds", Defaults.TIMEOUT_SECONDS);
    if (!(timeout >= 0) || Double.isInfinite(timeout)) {
      throw f.error(at + ".timeout_seconds", "(" + timeout + ") must be a finite number >= 0");
    }
    return new Decoding(
        temperature, topK, topP, m, maxTokens, List.copyOf(stop), List.copyOf(seeds), timeout);
  }
}
