package io.tokendrift.spec;

import java.util.ArrayList;
import java.util.List;

/**
 * The axes of an experiment against an HTTP provider: what a client can change about its requests.
 *
 * @param apis {@code chat} and/or {@code completions}
 * @param serverInvariant for {@code base_url: local}: the started server's batch-invariant mode
 *     (empty for a provider the experiment does not start)
 * @param serverPrecisions for {@code base_url: local} with a precision axis: the started server's
 *     engine precision, as a vLLM server's {@code --dtype} (empty otherwise: no precision axis)
 * @param concurrency requests in flight together: the run's own plus fillers of other lengths
 * @param logprobs whether logprobs are asked for
 * @param seedSent whether the seed is sent
 * @param intervalSeconds repeat r starts no earlier than r × this after the first request (spreads
 *     repeats over time to catch a backend that changes); 0 for back to back
 * @param requests {@code axes.request}: named sets of extra JSON fields sent with every request,
 *     name → the fields as a JSON object (keys sorted), in the spec's order; empty when the spec
 *     has none (then points carry no request axis)
 * @param reference the reference point's values
 * @param truthModel {@code truth: {model: M}}: the weights the provider serves, as a spec's {@code
 *     model} names them ({@code bundled} or a folder), whose float64 log-probabilities each run's
 *     served ones are compared with; null for none
 */
public record ProviderAxes(
    List<String> apis,
    List<Boolean> serverInvariant,
    List<String> serverPrecisions,
    List<Integer> concurrency,
    List<Boolean> logprobs,
    List<Boolean> seedSent,
    double intervalSeconds,
    java.util.Map<String, String> requests,
    ProviderPoint reference,
    String truthModel) {

  /** The spec keys of these axes under {@code axes:}. */
  static final List<String> KEYS =
      List.of("concurrency", "logprobs", "seed", "api", "interval_seconds", "request");

  public ProviderAxes {
    apis = List.copyOf(apis);
    serverInvariant = List.copyOf(serverInvariant);
    serverPrecisions = List.copyOf(serverPrecisions);
    concurrency = List.copyOf(concurrency);
    logprobs = List.copyOf(logprobs);
    seedSent = List.copyOf(seedSent);
    requests = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(requests));
  }

  /** Every point, in a fixed order, as the trace records them. */
  public List<ProviderPoint> points() {
    List<ProviderPoint> out = new ArrayList<>();
    for (String api : apis) {
      for (Boolean inv :
          serverInvariant.isEmpty() ? java.util.Arrays.asList((Boolean) null) : serverInvariant) {
        for (String pr :
            serverPrecisions.isEmpty()
                ? java.util.Arrays.asList((String) null)
                : serverPrecisions) {
          for (int c : concurrency) {
            for (boolean lp : logprobs) {
              for (boolean s : seedSent) {
                if (requests.isEmpty()) {
                  out.add(new ProviderPoint(api, inv, pr, c, lp, s, null));
                }
                for (String req : requests.keySet()) {
                  out.add(new ProviderPoint(api, inv, pr, c, lp, s, req));
                }
              }
            }
          }
        }
      }
    }
    return out;
  }

  /** The default reference: each axis's first value, logprobs on when listed. */
  ProviderPoint defaultReference() {
    return new ProviderPoint(
        apis.get(0),
        serverInvariant.isEmpty() ? null : serverInvariant.get(0),
        serverPrecisions.isEmpty() ? null : serverPrecisions.get(0),
        concurrency.get(0),
        logprobs.contains(true),
        seedSent.get(0),
        requests.isEmpty() ? null : requests.keySet().iterator().next());
  }

  ProviderAxes withReference(ProviderPoint ref) {
    return new ProviderAxes(
        apis,
        serverInvariant,
        serverPrecisions,
        concurrency,
        logprobs,
        seedSent,
        intervalSeconds,
        requests,
        ref,
        truthModel);
  }

  ProviderAxes withTruthModel(String model) {
    return new ProviderAxes(
        apis,
        serverInvariant,
        serverPrecisions,
        concurrency,
        logprobs,
        seedSent,
        intervalSeconds,
        requests,
        reference,
        model);
  }
}
