package io.tokendrift.spec;

import io.tokendrift.decode.DrawMethod;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
    SpecAxes axes,
    Point reference,
    Recording record,
    Path source,
    ProviderAxes provider,
    List<String> compareWithin) {

  public ExperimentSpec {
    compareWithin = compareWithin == null ? List.of() : List.copyOf(compareWithin);
  }

  /** A spec without extra group axes ({@code compare_within:}). */
  public ExperimentSpec(
      String name,
      String model,
      EngineSpec engine,
      List<Prompt> prompts,
      Decoding decoding,
      SpecAxes axes,
      Point reference,
      Recording record,
      Path source,
      ProviderAxes provider) {
    this(name, model, engine, prompts, decoding, axes, reference, record, source, provider, null);
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
      Refusal tooMany = tooManyInFlight(provider, p.remoteSettings(e).maxConcurrency());
      if (tooMany != null) {
        throw new IllegalArgumentException(tooMany.field() + ": " + tooMany.message());
      }
      if (p.remoteSettings(e).local() != remoteSettings().local()) {
        throw new IllegalArgumentException(
            "engine.base_url: switching to or from 'local' changes the spec's axes; edit the spec");
      }
    }
    return new ExperimentSpec(
        name,
        model,
        e,
        prompts,
        decoding,
        axes,
        reference,
        record,
        source,
        provider,
        compareWithin);
  }

  /**
   * Where a spec at {@code source} finds the model it names: a folder resolved against the spec's
   * own folder, or null for the bundled model. The one rule every reader of a spec's model uses.
   */
  public static Path modelFolder(String model, Path source) {
    if (BUNDLED.equals(model)) {
      return null;
    }
    Path p = Path.of(model);
    if (!p.isAbsolute()) {
      p = source.toAbsolutePath().getParent().resolve(p);
    }
    return p.normalize();
  }

  /** Opens the spec's model: the bundled one, or its folder ({@link #modelFolder}). */
  public io.tokendrift.model.ModelDir modelDir() {
    Path p = modelFolder(model, source);
    return p == null
        ? io.tokendrift.model.BundledModel.open()
        : io.tokendrift.model.ModelDir.open(p);
  }

  /**
   * How the manifest names the model: the bundled model's name, or the folder's absolute path (so
   * that analyze finds its tokenizer from any working directory); behind an API, the model asked
   * for.
   */
  public String modelName() {
    if (remote()) {
      io.tokendrift.engine.RemoteSettings r = remoteSettings();
      return "provider:"
          + (r.model().isEmpty() ? Defaults.LOCAL_SERVE_MODEL : r.model())
          + (r.local() ? " (local serve of " + model + ")" : "");
    }
    Path p = modelFolder(model, source);
    return p == null ? io.tokendrift.model.BundledModel.NAME : p.toString();
  }

  /** The remote engine's settings, its defaults applied (only for a provider spec). */
  public io.tokendrift.engine.RemoteSettings remoteSettings() {
    return io.tokendrift.engine.Engines.provider(engine.kind()).remoteSettings(engine);
  }

  /** The hash of everything that defines the runs ({@link SpecHash}), kept in the trace header. */
  public String hash() {
    return SpecHash.of(this);
  }

  /**
   * A refusal of one field of a spec.
   *
   * @param field where, e.g. {@code axes.concurrency[1]}
   * @param message what is wrong and what is allowed
   */
  record Refusal(String field, String message) {}

  /**
   * The one rule of {@code max_concurrency}: a concurrency value of the axes more than the engine
   * allows, or null when none is.
   */
  static Refusal tooManyInFlight(ProviderAxes p, int most) {
    for (int i = 0; i < p.concurrency().size(); i++) {
      if (p.concurrency().get(i) > most) {
        return new Refusal(
            "axes.concurrency[" + i + "]",
            p.concurrency().get(i)
                + " requests in flight is more than engine.max_concurrency ("
                + most
                + "); raise max_concurrency if the provider allows it");
      }
    }
    return null;
  }

  /** Whether the runs go to an HTTP provider (whole requests) instead of local forward passes. */
  public boolean remote() {
    return provider != null;
  }

  /** The reference point's key, as the trace header records it. */
  public String referenceKey() {
    return remote() ? provider.reference().key() : reference.key();
  }

  /** The model value that selects the bundled tiny model. */
  public static final String BUNDLED = "bundled";

  /**
   * A prompt and its id (given, or p1, p2, ... by position).
   *
   * @param where where the spec gives it ({@code file:line:column: prompts[i]}), for refusals found
   *     later, e.g. a prompt longer than the model's context
   */
  /**
   * A prompt.
   *
   * @param id its id
   * @param text the text the model reads
   * @param where its spec location, for messages
   * @param expect its expected answer ({@code expect:}), or null
   */
  public record Prompt(
      String id, String text, String where, io.tokendrift.trace.Expectation expect) {
    public Prompt(String id, String text) {
      this(id, text, "prompt '" + id + "'");
    }

    public Prompt(String id, String text, String where) {
      this(id, text, where, null);
    }
  }

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
      double timeoutSeconds) {

    /** The settings every run id hashes (seeds excluded: each run names its own). */
    public String key() {
      return "temperature="
          + temperature
          + ",top_k="
          + topK
          + ",top_p="
          + topP
          + ",method="
          + method
          + ",max_tokens="
          + maxTokens
          + ",stop="
          + stop
          + ",timeout="
          + timeoutSeconds;
    }

    /** The settings as a trace header records them. */
    public java.util.Map<String, String> asMap() {
      java.util.Map<String, String> m = new java.util.TreeMap<>();
      m.put("temperature", Double.toString(temperature));
      m.put("top_k", Integer.toString(topK));
      m.put("top_p", Double.toString(topP));
      m.put("method", method.name().toLowerCase(java.util.Locale.ROOT));
      m.put("max_tokens", Integer.toString(maxTokens));
      m.put("stop", stop.toString());
      m.put("seeds", seeds.toString());
      m.put("timeout_seconds", Double.toString(timeoutSeconds));
      return m;
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
    SpecAxes a = axes.withEngines(named);
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
        provider,
        compareWithin);
  }

  /** The same experiment with engine {@code name} of the engine axis replaced by {@code spec}. */
  public ExperimentSpec withAxisEngine(String name, EngineSpec spec) {
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
        provider,
        compareWithin);
  }

  /** Runs in the grid: points × prompts × seeds × repeats. */
  public long gridSize() {
    long points = remote() ? provider.points().size() : points().size();
    return points * prompts.size() * decoding.seeds().size() * axes.repeats();
  }

  /** Prompt id → expected answer ({@code Expectation.json()}), for prompts with {@code expect:}. */
  public java.util.Map<String, String> expectations() {
    java.util.Map<String, String> m = new java.util.TreeMap<>();
    for (Prompt p : prompts) {
      if (p.expect() != null) {
        m.put(p.id(), p.expect().json());
      }
    }
    return m;
  }

  /** Reads and checks a spec file. */
  public static ExperimentSpec read(Path file) {
    return new SpecReader(LocatedTree.read(file)).spec();
  }
}
