package io.tokendrift.trace;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A point of an experiment as the trace records it: axis → value as text, in the recorded order.
 * Engine-agnostic: it knows no axis names, so an engine that adds an axis needs no change here. Two
 * keys are equal when they hold the same pairs (the order does not matter for equality); the text
 * form {@link #key()} keeps the recorded order.
 *
 * @param values axis → value, in the order the trace lists them (unmodifiable)
 */
public record PointKey(Map<String, String> values) {
  public PointKey {
    values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }

  /** The point a run record or header map describes. */
  public static PointKey of(Map<String, String> values) {
    return new PointKey(values);
  }

  /** The axis names, in the recorded order. */
  public List<String> axes() {
    return List.copyOf(values.keySet());
  }

  /** The canonical text form, e.g. {@code device=cpu,batch_size=4,...}. */
  public String key() {
    return keyOf(values);
  }

  /** The {@link #key()} form of axis → value pairs as a trace records them. */
  public static String keyOf(Map<String, String> values) {
    StringBuilder b = new StringBuilder();
    values.forEach((k, v) -> b.append(b.length() == 0 ? "" : ",").append(k).append('=').append(v));
    return b.toString();
  }

  /** Parses {@link #key()}'s form back, keeping the order of the axes. */
  public static PointKey parse(String key) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String part : key.split(",")) {
      int eq = part.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("point '" + key + "': '" + part + "' is not axis=value");
      }
      m.put(part.substring(0, eq), part.substring(eq + 1));
    }
    return new PointKey(m);
  }

  @Override
  public String toString() {
    return key();
  }
}
