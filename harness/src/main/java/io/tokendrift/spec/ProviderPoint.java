package io.tokendrift.spec;

import io.tokendrift.trace.PointKey;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One point of a provider experiment: what a client sets about its requests.
 *
 * @param api {@code chat} or {@code completions}
 * @param batchInvariant the started server's mode ({@code base_url: local}), or null when the
 *     experiment does not start the server
 * @param precision the started server's engine precision ({@code base_url: local} with a precision
 *     axis), or null
 * @param concurrency requests in flight together
 * @param logprobs whether logprobs are asked for
 * @param seedSent whether the seed is sent
 * @param request the name of the set of extra request fields ({@code axes.request}), or null when
 *     the spec has none
 */
public record ProviderPoint(
    String api,
    Boolean batchInvariant,
    String precision,
    int concurrency,
    boolean logprobs,
    boolean seedSent,
    String request) {

  /** Whether requests go to the chat API. */
  public boolean chat() {
    return api.equals("chat");
  }

  /** Axis name → value as text, in the trace's axis order. */
  public Map<String, String> values() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("api", api);
    if (batchInvariant != null) {
      m.put("batch_invariant", batchInvariant.toString());
    }
    if (precision != null) {
      m.put("precision", precision);
    }
    m.put("concurrency", Integer.toString(concurrency));
    m.put("logprobs", Boolean.toString(logprobs));
    m.put("seed", seedSent ? "sent" : "omitted");
    if (request != null) {
      m.put("request", request);
    }
    return m;
  }

  /** The canonical text form, as the trace records it. */
  public String key() {
    return PointKey.keyOf(values());
  }
}
