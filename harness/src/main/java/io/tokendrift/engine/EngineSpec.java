package io.tokendrift.engine;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which engine runs the model, with its engine-specific options (e.g. a server's base URL): what a
 * spec's {@code engine:} key or the {@code --engine} flag says. {@link Engines} turns it into an
 * engine.
 *
 * @param kind the provider's name, e.g. {@code djl}
 * @param options engine-specific settings, keys sorted
 */
public record EngineSpec(String kind, Map<String, String> options) {
  /** The built-in engine: the GPT-2 forward pass on DJL's PyTorch. */
  public static final EngineSpec DEFAULT = new EngineSpec("djl", Map.of());

  public EngineSpec {
    if (kind == null || kind.isBlank()) {
      throw new IllegalArgumentException("engine kind must not be empty");
    }
    options = Collections.unmodifiableMap(new TreeMap<>(options));
  }

  /** An engine spec without options. */
  public static EngineSpec of(String kind) {
    return new EngineSpec(kind, Map.of());
  }

  /** True for {@link #DEFAULT}: specs that leave the engine out hash as they always did. */
  public boolean isDefault() {
    return equals(DEFAULT);
  }

  /** Canonical text, e.g. {@code djl} or {@code openai{base_url=...,model=...}}. */
  @Override
  public String toString() {
    if (options.isEmpty()) {
      return kind;
    }
    StringBuilder b = new StringBuilder(kind).append('{');
    options.forEach(
        (k, v) ->
            b.append(b.charAt(b.length() - 1) == '{' ? "" : ",").append(k).append('=').append(v));
    return b.append('}').toString();
  }
}
