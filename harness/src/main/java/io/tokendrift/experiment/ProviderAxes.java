package io.tokendrift.experiment;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The axes of an experiment against an HTTP provider: what a client can change about its requests.
 *
 * @param apis {@code chat} and/or {@code completions}
 * @param serverInvariant for {@code base_url: local}: the started server's batch-invariant mode
 *     (empty for a provider the experiment does not start)
 * @param concurrency requests in flight together: the run's own plus fillers of other lengths
 * @param logprobs whether logprobs are asked for
 * @param seedSent whether the seed is sent
 * @param intervalSeconds repeat r starts no earlier than r × this after the first request (spreads
 *     repeats over time to catch a backend that changes); 0 for back to back
 * @param reference the reference point's values
 */
public record ProviderAxes(
    List<String> apis,
    List<Boolean> serverInvariant,
    List<Integer> concurrency,
    List<Boolean> logprobs,
    List<Boolean> seedSent,
    double intervalSeconds,
    Map<String, String> reference) {

  /** The spec keys of these axes under {@code axes:}. */
  static final List<String> KEYS =
      List.of("concurrency", "logprobs", "seed", "api", "interval_seconds");

  public ProviderAxes {
    apis = List.copyOf(apis);
    serverInvariant = List.copyOf(serverInvariant);
    concurrency = List.copyOf(concurrency);
    logprobs = List.copyOf(logprobs);
    seedSent = List.copyOf(seedSent);
    reference = reference == null ? null : java.util.Collections.unmodifiableMap(reference);
  }

  /** Every point, in a fixed order, as the trace records them. */
  public List<Map<String, String>> points() {
    List<Map<String, String>> out = new ArrayList<>();
    for (String api : apis) {
      for (Boolean inv :
          serverInvariant.isEmpty() ? java.util.Arrays.asList((Boolean) null) : serverInvariant) {
        for (int c : concurrency) {
          for (boolean lp : logprobs) {
            for (boolean s : seedSent) {
              out.add(point(api, inv, c, lp, s));
            }
          }
        }
      }
    }
    return out;
  }

  /** One point's values, in the trace's axis order. */
  static Map<String, String> point(String api, Boolean inv, int c, boolean lp, boolean seed) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("api", api);
    if (inv != null) {
      m.put("batch_invariant", inv.toString());
    }
    m.put("concurrency", Integer.toString(c));
    m.put("logprobs", Boolean.toString(lp));
    m.put("seed", seed ? "sent" : "omitted");
    return m;
  }

  /** The default reference: each axis's first value, logprobs on when listed. */
  Map<String, String> defaultReference() {
    return point(
        apis.get(0),
        serverInvariant.isEmpty() ? null : serverInvariant.get(0),
        concurrency.get(0),
        logprobs.contains(true),
        seedSent.get(0));
  }

  ProviderAxes withReference(Map<String, String> ref) {
    return new ProviderAxes(
        apis, serverInvariant, concurrency, logprobs, seedSent, intervalSeconds, ref);
  }
}
