package io.tokendrift.experiment;

import io.tokendrift.decode.DrawMethod;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.trace.PointKey;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An experiment: prompts, decoding settings, the axes of conditions, the reference point and what
 * to record. Read from YAML or JSON; every refusal names file:line:column, the field path and what
 * is allowed.
 *
 * @param name experiment name (also its report folder)
 * @param model "bundled" or a model folder (resolved against the spec's folder)
 * @param engine which engine runs the model ({@code djl} unless the spec names another)
 * @param prompts the prompts, in order, with stable ids
 * @param decoding sampling and stop settings shared by every run
 * @param axes the conditions
 * @param reference the reference point (every axis at its reference value)
 * @param record what each step records
 * @param source the file it came from
 * @param provider the axes of an HTTP provider (engine {@code openai}), or null for a local engine
 */
public record ExperimentSpec(
    String name,
    String model,
    EngineSpec engine,
    List<Prompt> prompts,
    Decoding decoding,
    Axes axes,
    Point reference,
    Recording record,
    Path source,
    ProviderAxes provider) {

  public ExperimentSpec(
      String name,
      String model,
      EngineSpec engine,
      List<Prompt> prompts,
      Decoding decoding,
      Axes axes,
      Point reference,
      Recording record,
      Path source) {
    this(name, model, engine, prompts, decoding, axes, reference, record, source, null);
  }

  /**
   * The same experiment with some of its engine's options replaced (e.g. a provider spec pointed at
   * another server from the command line), checked as the spec reader checks them.
   *
   * @throws IllegalArgumentException naming the option and what is allowed
   */
  public ExperimentSpec withEngineOptions(java.util.Map<String, String> replaced) {
    if (!axes.engines().isEmpty()) {
      return withAxisEngineOptions(replaced);
    }
    java.util.Map<String, String> o = new java.util.TreeMap<>(engine.options());
    o.putAll(replaced);
    EngineSpec e = new EngineSpec(engine.kind(), o);
    io.tokendrift.engine.EngineProvider p = io.tokendrift.engine.Engines.check(e);
    p.checkOptions(e);
    if (remote()) {
      int most = Integer.parseInt(o.getOrDefault("max_concurrency", "64"));
      for (int c : provider.concurrency()) {
        if (c > most) {
          throw new IllegalArgumentException(
              "axes.concurrency holds " + c + ", more than engine.max_concurrency (" + most + ")");
        }
      }
      if ("local".equals(o.get("base_url")) != "local".equals(engine.options().get("base_url"))) {
        throw new IllegalArgumentException(
            "engine.base_url: switching to or from 'local' changes the spec's axes; edit the spec");
      }
    }
    return new ExperimentSpec(
        name, model, e, prompts, decoding, axes, reference, record, source, provider);
  }

  /** Whether the runs go to an HTTP provider (whole requests) instead of local forward passes. */
  public boolean remote() {
    return provider != null;
  }

  /** The reference point's key, as the trace header records it. */
  public String referenceKey() {
    return remote() ? PointKey.keyOf(provider.reference()) : reference.key();
  }

  /** The model value that selects the bundled tiny model. */
  public static final String BUNDLED = "bundled";

  /**
   * A prompt and its id (given, or p1, p2, ... by position).
   *
   * @param where where the spec gives it ({@code file:line:column: prompts[i]}), for refusals found
   *     later, e.g. a prompt longer than the model's context
   */
  public record Prompt(String id, String text, String where) {
    public Prompt(String id, String text) {
      this(id, text, "prompt '" + id + "'");
    }
  }

  /**
   * Most runs a spec may ask for: beyond it the grid alone would not fit in memory, and it would
   * run for weeks on any machine.
   */
  public static final long MAX_RUNS = 1_000_000;

  /**
   * Decoding settings.
   *
   * @param temperature 0 for greedy
   * @param topK 0 disables
   * @param topP 1 disables
   * @param method draw method for sampled runs
   * @param maxTokens tokens generated at most
   * @param stop stop sequences
   * @param seeds sampling seeds; each is a separate set of runs
   * @param timeoutSeconds wall-clock budget per run, 0 for none
   */
  public record Decoding(
      double temperature,
      int topK,
      double topP,
      DrawMethod method,
      int maxTokens,
      List<String> stop,
      List<Long> seeds,
      double timeoutSeconds) {}

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
   * @param env named process environments, each run in forked child processes with its variables
   *     set before they start; empty when the spec does not vary it (everything runs in this
   *     process and points do not name it)
   */
  public record Axes(
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
      List<ProcessEnv> env,
      List<NamedEngine> engines) {

    public Axes {
      kvCache = List.copyOf(kvCache);
      env = List.copyOf(env);
      engines = List.copyOf(engines);
    }

    /** Axes that run one engine (no engine axis). */
    public Axes(
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
        List<ProcessEnv> env) {
      this(
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
          List.of());
    }

    /** These axes with the engine axis set to {@code named}. */
    public Axes withEngines(List<NamedEngine> named) {
      return new Axes(
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
          named);
    }

    /**
     * The engine names the points take: null (not varied: the spec's engine) or the listed ones.
     */
    public List<String> engineValues() {
      if (engines.isEmpty()) {
        return java.util.Collections.singletonList(null);
      }
      List<String> names = new ArrayList<>();
      for (NamedEngine e : engines) {
        names.add(e.name());
      }
      return names;
    }

    /** The engine named {@code name}. */
    public NamedEngine engine(String name) {
      for (NamedEngine e : engines) {
        if (e.name().equals(name)) {
          return e;
        }
      }
      throw new IllegalArgumentException("no engine named '" + name + "' in axes.engine");
    }

    /** Axes that run in this process. */
    public Axes(
        List<DeviceSpec> devices,
        boolean devicesOptional,
        List<Integer> batchSizes,
        List<String> batchPositions,
        List<SummationOrder> summations,
        List<Precision> precisions,
        List<Integer> threads,
        List<Boolean> batchInvariant,
        int repeats,
        List<Boolean> kvCache) {
      this(
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
          List.of());
    }

    /** The env names the points take: null (not varied: this process) or the listed ones. */
    public List<String> envValues() {
      if (env.isEmpty()) {
        return java.util.Collections.singletonList(null);
      }
      List<String> names = new ArrayList<>();
      for (ProcessEnv e : env) {
        names.add(e.name());
      }
      return names;
    }

    /** The environment named {@code name}. */
    public ProcessEnv env(String name) {
      for (ProcessEnv e : env) {
        if (e.name().equals(name)) {
          return e;
        }
      }
      throw new IllegalArgumentException("no process environment named '" + name + "'");
    }

    /** Axes that do not vary the KV cache. */
    public Axes(
        List<DeviceSpec> devices,
        boolean devicesOptional,
        List<Integer> batchSizes,
        List<String> batchPositions,
        List<SummationOrder> summations,
        List<Precision> precisions,
        List<Integer> threads,
        List<Boolean> batchInvariant,
        int repeats) {
      this(
          devices,
          devicesOptional,
          batchSizes,
          batchPositions,
          summations,
          precisions,
          threads,
          batchInvariant,
          repeats,
          List.of());
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
  }

  /**
   * A named set of environment variables fixed before a process starts (the math library reads them
   * once, at load): e.g. {@code compatible: {MKL_CBWR: COMPATIBLE}}.
   *
   * @param name the name points carry ({@code env=compatible})
   * @param vars variable → value, sorted by name
   */
  public record ProcessEnv(String name, java.util.SortedMap<String, String> vars) {
    public ProcessEnv {
      vars = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(vars));
    }

    @Override
    public String toString() {
      return name + vars;
    }
  }

  /**
   * One value of the engine axis: a name the points carry and the engine it stands for.
   *
   * @param name e.g. {@code djl} or {@code torch-gpu}
   * @param spec the engine, as a spec's {@code engine:} would give it
   */
  public record NamedEngine(String name, io.tokendrift.engine.EngineSpec spec) {
    @Override
    public String toString() {
      return name + "=" + spec;
    }
  }

  /**
   * What each step records.
   *
   * @param topK how many of the largest logits (with ids) per step
   * @param fullLogits also the whole logit vector
   */
  public record Recording(int topK, boolean fullLogits) {}

  static int resolvePosition(String p, int b) {
    return switch (p) {
      case "first" -> 0;
      case "middle" -> b / 2;
      case "last" -> b - 1;
      default -> Integer.parseInt(p);
    };
  }

  /**
   * Every point of the grid, in a fixed order (device, batch, summation, precision, threads, mode).
   */
  public List<Point> points() {
    List<Point> out = new ArrayList<>();
    for (DeviceSpec d : axes.devices()) {
      for (int b : axes.batchSizes()) {
        for (int p : axes.positionsFor(b)) {
          for (SummationOrder s : axes.summations()) {
            for (Precision pr : axes.precisions()) {
              for (int t : axes.threads()) {
                for (boolean inv : axes.batchInvariant()) {
                  for (Boolean kv : axes.kvCacheValues()) {
                    for (String env : axes.envValues()) {
                      for (String eng : axes.engineValues()) {
                        out.add(new Point(d, b, p, s, pr, t, inv, kv, env, eng));
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return out;
  }

  /**
   * Why point {@code p}'s engine (of the engine axis) cannot run it, so its runs are recorded as
   * skipped; null when it can, or when the spec has no engine axis.
   */
  public String refusal(Point p) {
    return p.engine() == null ? null : EngineFit.refusal(axes.engine(p.engine()).spec(), p);
  }

  /**
   * With an engine axis: each option goes to every engine of the axis whose kind takes it (e.g.
   * {@code python} to the torch engines); an option no engine takes is refused.
   */
  private ExperimentSpec withAxisEngineOptions(java.util.Map<String, String> replaced) {
    List<NamedEngine> named = new ArrayList<>();
    java.util.Set<String> taken = new java.util.TreeSet<>();
    for (NamedEngine n : axes.engines()) {
      io.tokendrift.engine.EngineProvider p = io.tokendrift.engine.Engines.check(n.spec());
      java.util.Map<String, String> o = new java.util.TreeMap<>(n.spec().options());
      for (var kv : replaced.entrySet()) {
        if (p.optionKeys().contains(kv.getKey())) {
          o.put(kv.getKey(), kv.getValue());
          taken.add(kv.getKey());
        }
      }
      EngineSpec e = new EngineSpec(n.spec().kind(), o);
      p.checkOptions(e);
      named.add(new NamedEngine(n.name(), e));
    }
    for (String k : replaced.keySet()) {
      if (!taken.contains(k)) {
        throw new IllegalArgumentException(
            "engine option '"
                + k
                + "' is taken by no engine of axes.engine "
                + axes.engineValues());
      }
    }
    Axes a = axes.withEngines(named);
    return new ExperimentSpec(
        name,
        model,
        named.get(0).spec(),
        prompts,
        decoding,
        a,
        reference,
        record,
        source,
        provider);
  }

  /** The same experiment with engine {@code name} of the engine axis replaced by {@code spec}. */
  ExperimentSpec withAxisEngine(String name, EngineSpec spec) {
    List<NamedEngine> named = new ArrayList<>();
    for (NamedEngine n : axes.engines()) {
      named.add(n.name().equals(name) ? new NamedEngine(name, spec) : n);
    }
    return new ExperimentSpec(
        this.name,
        model,
        named.get(0).spec(),
        prompts,
        decoding,
        axes.withEngines(named),
        reference,
        record,
        source,
        provider);
  }

  /** Runs in the grid: points × prompts × seeds × repeats. */
  public long gridSize() {
    long points = remote() ? provider.points().size() : points().size();
    return points * prompts.size() * decoding.seeds().size() * axes.repeats();
  }

  /** Reads and checks a spec file. */
  public static ExperimentSpec read(Path file) {
    return new SpecReader(LocatedTree.read(file)).spec();
  }
}
