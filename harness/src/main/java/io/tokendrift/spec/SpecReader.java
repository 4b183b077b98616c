package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.spec.ExperimentSpec.Decoding;
import io.tokendrift.spec.ExperimentSpec.Prompt;
import io.tokendrift.spec.ExperimentSpec.Recording;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads a spec file into an {@link ExperimentSpec}: the top-level keys, the engine, the prompts,
 * what to record and the reference point; the axes and decoding settings have readers of their own.
 */
final class SpecReader {
  private static final Set<String> TOP =
      SpecFields.keys(
          "name",
          "model",
          "prompts",
          "prompts_file",
          "decoding",
          "axes",
          "reference",
          "record",
          "engine",
          "truth",
          "compare_within");
  private static final Set<String> REFERENCE =
      SpecFields.keys(
          "device",
          "batch_size",
          "batch_position",
          "summation",
          "precision",
          "threads",
          "batch_invariant",
          "kv_cache",
          "env",
          "engine");
  private static final Set<String> RECORD = SpecFields.keys("top_k", "full_logits");

  private final SpecFields f;

  SpecReader(LocatedTree t) {
    this.f = new SpecFields(t);
  }

  ExperimentSpec spec() {
    JsonNode root = f.t.root;
    if (!root.isObject()) {
      throw f.error("", "a spec is a mapping with keys " + String.join(", ", TOP));
    }
    f.checkKeys(root, "", TOP);
    String name = f.string(root, "name", null);
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
      throw f.error(
          "name",
          "'"
              + name
              + "' is not allowed; use 1-64 letters, digits, '.', '_' or '-' (it names the report"
              + " folder)");
    }
    String model = f.string(root, "model", Defaults.MODEL);
    EngineReader engines = new EngineReader(f);
    EngineSpec engineSpec = engines.read(root.get("engine"), "engine");
    EngineProvider engineKind = Engines.provider(engineSpec.kind());
    List<Prompt> prompts = new PromptReader(f).read(root, model, engineKind.remote());
    Decoding decoding = new DecodingReader(f).read(root.get("decoding"));
    AxesReader axesReader = new AxesReader(f);
    SpecAxes axes =
        new TruthReader(f)
            .withTruth(axesReader.read(root.get("axes")), root.get("truth"), engineKind);
    List<ExperimentSpec.NamedEngine> named = engines.axis(root);
    if (named.isEmpty()) {
      EngineFit.checkAxes(axes, engineSpec, engineKind, f);
    } else {
      axes = axes.withEngines(named);
      // The first named engine stands for the spec's engine where one is asked for (prompts,
      // the manifest's main fields); each point runs on its own.
      engineSpec = named.get(0).spec();
      engineKind = Engines.provider(engineSpec.kind());
    }
    if (engineKind.remote()) {
      checkEngineOptions(engineSpec);
    }
    ProviderAxes remote =
        axesReader.provider(
            root.get("axes"),
            engineSpec,
            engineKind.remote(),
            engineKind.remote() ? engineKind.remoteSettings(engineSpec).defaultApi() : null,
            engineKind.remote() && engineKind.remoteSettings(engineSpec).local(),
            axes);
    Recording record = record(root.get("record"));
    if (remote != null) {
      checkRemote(remote, engineSpec, axes, prompts.size(), decoding, record);
      remote = remote.withReference(providerReference(root.get("reference"), remote));
      remote =
          remote.withTruthModel(
              new TruthReader(f).providerTruth(root.get("truth"), remote, model, engineSpec));
      List<String> cw =
          compareWithin(root.get("compare_within"), remote.reference().values().keySet());
      return new ExperimentSpec(
          name, model, engineSpec, prompts, decoding, axes, null, record, f.t.file, remote, cw);
    }
    checkSize(axes, prompts.size(), decoding.seeds().size());
    if (!axes.engines().isEmpty()) {
      EngineFit.check(axes, f);
    }
    ExperimentSpec partial =
        new ExperimentSpec(
            name, model, engineSpec, prompts, decoding, axes, null, record, f.t.file, null);
    Point reference = reference(root.get("reference"), partial);
    List<String> cw = compareWithin(root.get("compare_within"), reference.values().keySet());
    return new ExperimentSpec(
        name, model, engineSpec, prompts, decoding, axes, reference, record, f.t.file, null, cw);
  }

  /**
   * {@code compare_within}: axes (of the points) whose values the analysis also compares as groups
   * with references of their own, beyond the mode axes it always does.
   */
  private List<String> compareWithin(JsonNode n, Set<String> axes) {
    if (n == null) {
      return List.of();
    }
    if (!n.isArray() || n.isEmpty()) {
      throw f.error("compare_within", "must be a non-empty list of axis names");
    }
    List<String> out = new java.util.ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      String a = n.get(i).asText();
      if (!axes.contains(a)) {
        throw f.error(
            "compare_within[" + i + "]",
            "'"
                + a
                + "' is not an axis of this experiment's points; allowed: "
                + String.join(", ", new java.util.TreeSet<>(axes)));
      }
      if (out.contains(a)) {
        throw f.error("compare_within[" + i + "]", "'" + a + "' is listed twice");
      }
      out.add(a);
    }
    return out;
  }

  /** A remote engine's option values, refused at the option's own place. */
  private void checkEngineOptions(EngineSpec engine) {
    try {
      Engines.provider(engine.kind()).checkOptions(engine);
    } catch (IllegalArgumentException e) {
      String m = e.getMessage();
      String field = m.startsWith("engine.") ? m.substring(0, m.indexOf(':')) : "engine";
      throw f.error(field, m.startsWith("engine.") ? m.substring(m.indexOf(':') + 2) : m);
    }
  }

  /** What only an HTTP provider's spec must satisfy. */
  private void checkRemote(
      ProviderAxes p, EngineSpec engine, SpecAxes axes, int prompts, Decoding d, Recording record) {
    if (d.timeoutSeconds() != 0) {
      throw f.error(
          "decoding.timeout_seconds",
          "a provider's time limit is engine.timeout_seconds (per request attempt); leave this out");
    }
    if (f.t.root.path("record").has("top_k")) {
      throw f.error(
          "record.top_k",
          "a provider records the top logprobs it gives: set engine.top_logprobs (2 to 20)");
    }
    ExperimentSpec.Refusal tooMany =
        ExperimentSpec.tooManyInFlight(
            p, Engines.provider(engine.kind()).remoteSettings(engine).maxConcurrency());
    if (tooMany != null) {
      throw f.error(tooMany.field(), tooMany.message());
    }
    if (d.topK() != 0) {
      throw f.error(
          "decoding.top_k",
          "OpenAI's API has no top_k; a provider samples with temperature and top_p only (use 0)");
    }
    if (d.method() != io.tokendrift.decode.DrawMethod.INVERSE_CDF) {
      throw f.error("decoding.method", "a provider samples its own way; leave method out");
    }
    if (record.fullLogits()) {
      throw f.error(
          "record.full_logits",
          "a provider returns only its top logprobs (set top_logprobs in the engine), not logits");
    }
    double runs = (double) p.points().size() * prompts * d.seeds().size() * axes.repeats();
    if (runs > Defaults.MAX_RUNS) {
      throw f.error(
          "axes",
          String.format(
              java.util.Locale.ROOT,
              "the grid holds %.3g runs; at most %,d are allowed",
              runs,
              Defaults.MAX_RUNS));
    }
  }

  private static final Set<String> PROVIDER_REFERENCE =
      SpecFields.keys(
          "api", "batch_invariant", "precision", "concurrency", "logprobs", "seed", "request");

  /** The reference point of a provider spec: given values over the defaults, in the grid. */
  private ProviderPoint providerReference(JsonNode n, ProviderAxes p) {
    Map<String, String> ref = new java.util.LinkedHashMap<>(p.defaultReference().values());
    if (n == null) {
      return p.defaultReference();
    }
    String at = "reference";
    if (!n.isObject()) {
      throw f.error(at, "must be a mapping with keys " + String.join(", ", PROVIDER_REFERENCE));
    }
    f.checkKeys(n, at, PROVIDER_REFERENCE);
    var it = n.fields();
    while (it.hasNext()) {
      var e = it.next();
      if (e.getKey().equals("batch_invariant") && !ref.containsKey("batch_invariant")) {
        throw f.error(
            at + ".batch_invariant", "applies only to base_url: local (the server it starts)");
      }
      if (e.getKey().equals("precision") && !ref.containsKey("precision")) {
        throw f.error(at + ".precision", "applies only to base_url: local with a precision axis");
      }
      if (e.getKey().equals("request") && !ref.containsKey("request")) {
        throw f.error(at + ".request", "names a set of axes.request, and the spec has none");
      }
      ref.put(e.getKey(), e.getValue().asText());
    }
    for (ProviderPoint point : p.points()) {
      if (point.values().equals(ref)) {
        return point;
      }
    }
    throw f.error(
        at,
        "the point "
            + io.tokendrift.trace.PointKey.keyOf(ref)
            + " is not in the grid; the reference must be one of its points");
  }

  /** Refuses a grid over {@link Defaults#MAX_RUNS}, counted without building it. */
  private void checkSize(SpecAxes a, int prompts, int seeds) {
    long points = 0;
    for (int b : a.batchSizes()) {
      points += a.positionsFor(b).size();
    }
    double runs =
        (double) points
            * a.devices().size()
            * a.summations().size()
            * a.precisions().size()
            * a.threads().size()
            * a.batchInvariant().size()
            * Math.max(1, a.kvCache().size())
            * Math.max(1, a.env().size())
            * Math.max(1, a.engines().size())
            * prompts
            * seeds
            * a.repeats();
    if (runs > Defaults.MAX_RUNS) {
      throw f.error(
          "axes",
          String.format(
              java.util.Locale.ROOT,
              "the grid holds %.3g runs (points x prompts x seeds x repeats); at most %,d are"
                  + " allowed: split it into several specs or shards of fewer axes",
              runs,
              Defaults.MAX_RUNS));
    }
  }

  private Recording record(JsonNode n) {
    String at = "record";
    if (n == null) {
      return new Recording(Defaults.RECORD_TOP_K, false);
    }
    if (!n.isObject()) {
      throw f.error(at, "must be a mapping with keys " + String.join(", ", RECORD));
    }
    f.checkKeys(n, at, RECORD);
    return new Recording(
        f.integer(n, at + ".top_k", Defaults.RECORD_TOP_K, 1, 1024),
        f.bool(n, at + ".full_logits", false));
  }

  private Point reference(JsonNode n, ExperimentSpec s) {
    SpecAxes a = s.axes();
    int b = a.batchSizes().get(0);
    Point def =
        new Point(
            a.devices().get(0),
            b,
            a.positionsFor(b).get(0),
            a.summations().get(0),
            a.precisions().get(0),
            a.threads().get(0),
            a.batchInvariant().get(0),
            a.kvCacheValues().get(0),
            a.envValues().get(0),
            a.engineValues().get(0));
    if (n == null) {
      return checkedReference(def, s, "reference");
    }
    String at = "reference";
    if (!n.isObject()) {
      throw f.error(at, "must be a mapping with keys " + String.join(", ", REFERENCE));
    }
    f.checkKeys(n, at, REFERENCE);
    DeviceSpec device = parsed(n, at + ".device", def.device(), DeviceSpec::parse);
    int size = f.integer(n, at + ".batch_size", def.batchSize(), 1, 256);
    int pos =
        n.has("batch_position") || size != def.batchSize()
            ? f.integer(n, at + ".batch_position", 0, 0, size - 1)
            : def.batchPosition();
    SummationOrder sum = parsed(n, at + ".summation", def.summation(), SummationOrder::parse);
    Precision prec = parsed(n, at + ".precision", def.precision(), Precision::parse);
    int threads = f.integer(n, at + ".threads", def.threads(), 0, 1024);
    boolean inv = f.bool(n, at + ".batch_invariant", def.batchInvariant());
    Boolean kv = def.kvCache();
    if (n.has("kv_cache")) {
      JsonNode kn = n.get("kv_cache");
      String v =
          kn.isBoolean() ? (kn.asBoolean() ? "on" : "off") : f.string(n, at + ".kv_cache", null);
      if (!v.equals("on") && !v.equals("off")) {
        throw f.error(at + ".kv_cache", "'" + v + "' is not known; allowed: on, off");
      }
      if (a.kvCache().isEmpty()) {
        // The axis is not varied: the cache is on, and points do not name it.
        if (v.equals("off")) {
          throw f.error(
              at + ".kv_cache",
              "off is not in the grid; add kv_cache: [on, off] to axes to compare the two");
        }
      } else {
        kv = v.equals("on");
      }
    }
    String env = def.env();
    if (n.has("env")) {
      env = f.string(n, at + ".env", null);
      if (!a.envValues().contains(env)) {
        throw f.error(
            at + ".env",
            a.env().isEmpty()
                ? "the spec has no axes.env; the reference runs in this process"
                : "'" + env + "' is not one of axes.env's names: " + a.envValues());
      }
    }
    String eng = def.engine();
    if (n.has("engine")) {
      eng = f.string(n, at + ".engine", null);
      if (!a.engineValues().contains(eng)) {
        throw f.error(
            at + ".engine",
            a.engines().isEmpty()
                ? "the spec has no axes.engine; the reference runs on the spec's engine"
                : "'" + eng + "' is not one of axes.engine's names: " + a.engineValues());
      }
    }
    Point p = new Point(device, size, pos, sum, prec, threads, inv, kv, env, eng);
    if (!s.points().contains(p)) {
      throw f.error(
          at,
          "the point " + p.key() + " is not in the grid; the reference must be one of its points");
    }
    return checkedReference(p, s, at);
  }

  /** With an engine axis, the reference must be a point its engine runs. */
  private Point checkedReference(Point p, ExperimentSpec s, String at) {
    if (p.engine() != null) {
      String why = EngineFit.refusal(s.axes().engine(p.engine()).spec(), p);
      if (why != null) {
        throw f.error(at, "the reference " + p.key() + " cannot run: " + why);
      }
    }
    return p;
  }

  /** A field parsed by {@code parser} (its refusal located), or {@code def} when absent. */
  private <T> T parsed(JsonNode n, String path, T def, Function<String, T> parser) {
    if (!n.has(path.substring(path.lastIndexOf('.') + 1))) {
      return def;
    }
    String v = f.string(n, path, null);
    try {
      return parser.apply(v);
    } catch (IllegalArgumentException e) {
      throw f.error(path, e.getMessage());
    }
  }
}
