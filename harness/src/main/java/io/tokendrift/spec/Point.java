package io.tokendrift.spec;

import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.trace.PointKey;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One combination of conditions: where a prompt runs, in which batch row, with which arithmetic.
 *
 * @param device CPU or a GPU
 * @param batchSize rows in the forward pass
 * @param batchPosition the prompt's row
 * @param summation contraction order of the linear layers
 * @param precision fp32 or fp16
 * @param threads PyTorch intra-op threads (0 = library default)
 * @param batchInvariant per-row kernels and caches
 * @param kvCache KV cache on or off; null when the spec does not vary it (on, and not named)
 * @param env the name of the process environment the point runs in (a forked child process with
 *     those variables set); null when the spec does not vary it (this process, not named)
 * @param engine the name of the engine that runs the point (one of {@code axes.engine}); null when
 *     the spec does not vary it (the spec's engine, not named)
 */
public record Point(
    DeviceSpec device,
    int batchSize,
    int batchPosition,
    SummationOrder summation,
    Precision precision,
    int threads,
    boolean batchInvariant,
    Boolean kvCache,
    String env,
    String engine) {

  /** This point on another engine of the axis ({@code null}: the spec's engine, not named). */
  public Point withEngine(String name) {
    return new Point(
        device,
        batchSize,
        batchPosition,
        summation,
        precision,
        threads,
        batchInvariant,
        kvCache,
        env,
        name);
  }

  /** Whether steps use the KV cache (true unless the point recomputes the prefix). */
  public boolean cached() {
    return kvCache == null || kvCache;
  }

  /** The axis names, in the order of {@link #values()}. */
  public static final String[] AXES = {
    "device", "batch_size", "batch_position", "summation", "precision", "threads", "batch_invariant"
  };

  /** Axis name → value as text, in a fixed order. */
  public Map<String, String> values() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("device", device.toString());
    m.put("batch_size", Integer.toString(batchSize));
    m.put("batch_position", Integer.toString(batchPosition));
    m.put("summation", summation.toString());
    m.put("precision", precision.label());
    m.put("threads", Integer.toString(threads));
    m.put("batch_invariant", Boolean.toString(batchInvariant));
    if (kvCache != null) {
      // Only a spec that varies it names it: points of older specs keep their keys.
      m.put("kv_cache", kvCache ? "on" : "off");
    }
    if (env != null) {
      m.put("env", env);
    }
    if (engine != null) {
      m.put("engine", engine);
    }
    return m;
  }

  /** A canonical text form, e.g. {@code device=cpu,batch_size=4,...}: stable across versions. */
  public String key() {
    return PointKey.keyOf(values());
  }

  /** The engine configuration of this point (batch shape is not an engine option). */
  public EngineOptions options() {
    return new EngineOptions(device, precision, summation, threads, batchInvariant);
  }

  /** Parses {@link #key()}'s form back. */
  public static Point parse(String key) {
    Map<String, String> m = PointKey.parse(key).values();
    for (String a : AXES) {
      if (!m.containsKey(a)) {
        throw new IllegalArgumentException("point '" + key + "' lacks axis " + a);
      }
    }
    return new Point(
        DeviceSpec.parse(m.get("device")),
        Integer.parseInt(m.get("batch_size")),
        Integer.parseInt(m.get("batch_position")),
        SummationOrder.parse(m.get("summation")),
        Precision.parse(m.get("precision")),
        Integer.parseInt(m.get("threads")),
        Boolean.parseBoolean(m.get("batch_invariant")),
        m.containsKey("kv_cache") ? onOff(m.get("kv_cache"), key) : null,
        m.get("env"),
        m.get("engine"));
  }

  private static Boolean onOff(String v, String key) {
    return switch (v) {
      case "on" -> Boolean.TRUE;
      case "off" -> Boolean.FALSE;
      default ->
          throw new IllegalArgumentException(
              "point '" + key + "': kv_cache '" + v + "' is not on or off");
    };
  }
}
