package io.tokendrift.spec;

import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The axes. Each list holds the values to try; a missing axis has its default as only value.
 *
 * @param devices devices to run on
 * @param devicesOptional when true, GPU points on a machine without a GPU are skipped (stated)
 * @param batchSizes rows per forward pass
 * @param batchPositions positions as written: numbers or first, middle, last
 * @param summations contraction orders
 * @param precisions fp32 or fp16
 * @param threads PyTorch intra-op thread counts (0 = library default)
 * @param batchInvariant default and/or batch-invariant mode
 * @param repeats plain repeats of every run (at least 1)
 * @param kvCache KV cache on (true) and/or off (recompute the prefix every step); empty when the
 *     spec does not vary it (the cache is on and points do not name it)
 * @param env named process environments, each run in forked child processes with its variables set
 *     before they start; empty when the spec does not vary it (everything runs in this process and
 *     points do not name it)
 */
public record SpecAxes(
    List<DeviceSpec> devices,
    boolean devicesOptional,
    List<Integer> batchSizes,
    List<String> batchPositions,
    List<SummationOrder> summations,
    List<Precision> precisions,
    List<Integer> threads,
    List<Boolean> batchInvariant,
    int repeats,
    List<Boolean> kvCache,
    List<ExperimentSpec.ProcessEnv> env,
    List<ExperimentSpec.NamedEngine> engines) {

  public SpecAxes {
    kvCache = List.copyOf(kvCache);
    env = List.copyOf(env);
    engines = List.copyOf(engines);
  }

  /** The engine names the points take: null (not varied: the spec's engine) or the listed ones. */
  public List<String> engineValues() {
    if (engines.isEmpty()) {
      return java.util.Collections.singletonList(null);
    }
    List<String> names = new ArrayList<>();
    for (ExperimentSpec.NamedEngine e : engines) {
      names.add(e.name());
    }
    return names;
  }

  /** The engine named {@code name}. */
  public ExperimentSpec.NamedEngine engine(String name) {
    for (ExperimentSpec.NamedEngine e : engines) {
      if (e.name().equals(name)) {
        return e;
      }
    }
    throw new IllegalArgumentException("no engine named '" + name + "' in axes.engine");
  }

  /** The env names the points take: null (not varied: this process) or the listed ones. */
  public List<String> envValues() {
    if (env.isEmpty()) {
      return java.util.Collections.singletonList(null);
    }
    List<String> names = new ArrayList<>();
    for (ExperimentSpec.ProcessEnv e : env) {
      names.add(e.name());
    }
    return names;
  }

  /** The environment named {@code name}. */
  public ExperimentSpec.ProcessEnv env(String name) {
    for (ExperimentSpec.ProcessEnv e : env) {
      if (e.name().equals(name)) {
        return e;
      }
    }
    throw new IllegalArgumentException("no process environment named '" + name + "'");
  }

  /** The KV-cache values the points take: null (not varied) or the listed ones. */
  public List<Boolean> kvCacheValues() {
    return kvCache.isEmpty() ? java.util.Collections.singletonList(null) : kvCache;
  }

  /** As records print, without kvCache when not varied: specs hash as they always did. */
  @Override
  public String toString() {
    return "Axes[devices="
        + devices
        + ", devicesOptional="
        + devicesOptional
        + ", batchSizes="
        + batchSizes
        + ", batchPositions="
        + batchPositions
        + ", summations="
        + summations
        + ", precisions="
        + precisions
        + ", threads="
        + threads
        + ", batchInvariant="
        + batchInvariant
        + ", repeats="
        + repeats
        + (kvCache.isEmpty() ? "" : ", kvCache=" + kvCache)
        + (env.isEmpty() ? "" : ", env=" + env)
        + (engines.isEmpty() ? "" : ", engines=" + engines)
        + "]";
  }

  /** Resolved positions for batch size {@code b}, in order, without duplicates. */
  public List<Integer> positionsFor(int b) {
    Set<Integer> out = new LinkedHashSet<>();
    for (String p : batchPositions) {
      out.add(resolvePosition(p, b));
    }
    return List.copyOf(out);
  }

  /** These axes with the engine axis set to {@code named}. */
  public SpecAxes withEngines(List<ExperimentSpec.NamedEngine> named) {
    return toBuilder().engines(named).build();
  }

  /** Axes at their defaults (every axis at its one default value), to be set by name. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these axes. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.devices = devices;
    b.devicesOptional = devicesOptional;
    b.batchSizes = batchSizes;
    b.batchPositions = batchPositions;
    b.summations = summations;
    b.precisions = precisions;
    b.threads = threads;
    b.batchInvariant = batchInvariant;
    b.repeats = repeats;
    b.kvCache = kvCache;
    b.env = env;
    b.engines = engines;
    return b;
  }

  /** Axes by name instead of by position; unset axes keep their defaults ({@link Defaults}). */
  public static final class Builder {
    private List<DeviceSpec> devices = List.of(DeviceSpec.CPU);
    private boolean devicesOptional;
    private List<Integer> batchSizes = List.of(1);
    private List<String> batchPositions = List.of(Defaults.BATCH_POSITION);
    private List<SummationOrder> summations = List.of(SummationOrder.NATIVE);
    private List<Precision> precisions = List.of(Precision.FP32);
    private List<Integer> threads = List.of(Defaults.THREADS);
    private List<Boolean> batchInvariant = List.of(false);
    private int repeats = 1;
    private List<Boolean> kvCache = List.of();
    private List<ExperimentSpec.ProcessEnv> env = List.of();
    private List<ExperimentSpec.NamedEngine> engines = List.of();

    private Builder() {}

    public Builder devices(List<DeviceSpec> v, boolean optional) {
      devices = v;
      devicesOptional = optional;
      return this;
    }

    public Builder batch(List<Integer> sizes, List<String> positions) {
      batchSizes = sizes;
      batchPositions = positions;
      return this;
    }

    public Builder summations(List<SummationOrder> v) {
      summations = v;
      return this;
    }

    public Builder precisions(List<Precision> v) {
      precisions = v;
      return this;
    }

    public Builder threads(List<Integer> v) {
      threads = v;
      return this;
    }

    public Builder batchInvariant(List<Boolean> v) {
      batchInvariant = v;
      return this;
    }

    public Builder repeats(int v) {
      repeats = v;
      return this;
    }

    public Builder kvCache(List<Boolean> v) {
      kvCache = v;
      return this;
    }

    public Builder env(List<ExperimentSpec.ProcessEnv> v) {
      env = v;
      return this;
    }

    public Builder engines(List<ExperimentSpec.NamedEngine> v) {
      engines = v;
      return this;
    }

    public SpecAxes build() {
      return new SpecAxes(
          devices,
          devicesOptional,
          batchSizes,
          batchPositions,
          summations,
          precisions,
          threads,
          batchInvariant,
          repeats,
          kvCache,
          env,
          engines);
    }
  }

  static int resolvePosition(String p, int b) {
    return switch (p) {
      case "first" -> 0;
      case "middle" -> b / 2;
      case "last" -> b - 1;
      default -> Integer.parseInt(p);
    };
  }
}
