package io.tokendrift.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.decode.DrawMethod;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * An experiment: prompts, decoding settings, the axes of conditions, the reference point and what
 * to record. Read from YAML or JSON; every refusal names file:line:column, the field path and what
 * is allowed.
 *
 * @param name experiment name (also its report folder)
 * @param model "bundled" or a model folder (resolved against the spec's folder)
 * @param prompts the prompts, in order, with stable ids
 * @param decoding sampling and stop settings shared by every run
 * @param axes the conditions
 * @param reference the reference point (every axis at its reference value)
 * @param record what each step records
 * @param source the file it came from
 */
public record ExperimentSpec(
    String name,
    String model,
    List<Prompt> prompts,
    Decoding decoding,
    Axes axes,
    Point reference,
    Recording record,
    Path source) {

  /** The model value that selects the bundled tiny model. */
  public static final String BUNDLED = "bundled";

  /** A prompt and its id (given, or p1, p2, ... by position). */
  public record Prompt(String id, String text) {}

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
   * @param fill what fills batch rows beyond the experiment's prompts: "fillers" (a built-in pool)
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
      int repeats) {

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
                  out.add(new Point(d, b, p, s, pr, t, inv));
                }
              }
            }
          }
        }
      }
    }
    return out;
  }

  /** Runs in the grid: points × prompts × seeds × repeats. */
  public long gridSize() {
    return (long) points().size() * prompts.size() * decoding.seeds().size() * axes.repeats();
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  private static final Set<String> TOP =
      keys("name", "model", "prompts", "prompts_file", "decoding", "axes", "reference", "record");
  private static final Set<String> DECODING =
      keys(
          "temperature",
          "top_k",
          "top_p",
          "method",
          "max_tokens",
          "stop",
          "seeds",
          "timeout_seconds");
  private static final Set<String> AXES =
      keys("device", "batch", "summation", "precision", "threads", "batch_invariant", "repeats");
  private static final Set<String> DEVICE = keys("values", "optional");
  private static final Set<String> BATCH = keys("sizes", "positions");
  private static final Set<String> REFERENCE =
      keys(
          "device",
          "batch_size",
          "batch_position",
          "summation",
          "precision",
          "threads",
          "batch_invariant");
  private static final Set<String> RECORD = keys("top_k", "full_logits");
  private static final Set<String> PROMPT = keys("id", "text");

  private static Set<String> keys(String... k) {
    return new TreeSet<>(List.of(k));
  }

  /** Reads and checks a spec file. */
  public static ExperimentSpec read(Path file) {
    LocatedTree t = LocatedTree.read(file);
    Reader r = new Reader(t);
    return r.spec();
  }

  /** Field-by-field reading with located refusals. */
  private static final class Reader {
    private final LocatedTree t;

    Reader(LocatedTree t) {
      this.t = t;
    }

    ExperimentSpec spec() {
      JsonNode root = t.root;
      if (!root.isObject()) {
        throw t.error("", "a spec is a mapping with keys " + String.join(", ", TOP));
      }
      checkKeys(root, "", TOP);
      String name = string(root, "name", null);
      if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
        throw t.error(
            "name",
            "'"
                + name
                + "' is not allowed; use 1-64 letters, digits, '.', '_' or '-' (it names the report"
                + " folder)");
      }
      String model = string(root, "model", BUNDLED);
      List<Prompt> prompts = prompts(root);
      Decoding decoding = decoding(root.get("decoding"));
      Axes axes = axes(root.get("axes"));
      Recording record = record(root.get("record"));
      ExperimentSpec partial =
          new ExperimentSpec(name, model, prompts, decoding, axes, null, record, t.file);
      Point reference = reference(root.get("reference"), partial);
      return new ExperimentSpec(name, model, prompts, decoding, axes, reference, record, t.file);
    }

    private List<Prompt> prompts(JsonNode root) {
      List<Prompt> out = new ArrayList<>();
      JsonNode inline = root.get("prompts");
      JsonNode file = root.get("prompts_file");
      if (inline == null && file == null) {
        throw t.error("", "missing key 'prompts' (a list) or 'prompts_file' (one prompt per line)");
      }
      if (inline != null) {
        if (!inline.isArray() || inline.isEmpty()) {
          throw t.error("prompts", "must be a non-empty list of strings or {id, text} mappings");
        }
        for (int i = 0; i < inline.size(); i++) {
          JsonNode n = inline.get(i);
          String path = "prompts[" + i + "]";
          if (n.isTextual()) {
            out.add(new Prompt("p" + (out.size() + 1), nonEmpty(n.asText(), path)));
          } else if (n.isObject()) {
            checkKeys(n, path, PROMPT);
            String id = string(n, path + ".id", "p" + (out.size() + 1));
            out.add(new Prompt(id, nonEmpty(string(n, path + ".text", null), path + ".text")));
          } else {
            throw t.error(path, "must be a string or a mapping {id, text}; got " + kind(n));
          }
        }
      }
      if (file != null) {
        if (!file.isTextual()) {
          throw t.error("prompts_file", "must be a file path (a string); got " + kind(file));
        }
        Path p = t.file.toAbsolutePath().getParent().resolve(file.asText());
        List<String> lines;
        try {
          lines = Files.readAllLines(p);
        } catch (IOException e) {
          throw t.error("prompts_file", "cannot read " + p + ": " + e.getMessage());
        }
        for (int i = 0; i < lines.size(); i++) {
          String l = lines.get(i);
          if (!l.isBlank() && !l.startsWith("#")) {
            out.add(new Prompt("p" + (out.size() + 1), l));
          }
        }
        if (out.isEmpty()) {
          throw t.error(
              "prompts_file", p + " holds no prompt (blank lines and # comments skipped)");
        }
      }
      Set<String> ids = new HashSet<>();
      Set<String> texts = new HashSet<>();
      for (int i = 0; i < out.size(); i++) {
        Prompt p = out.get(i);
        if (!ids.add(p.id())) {
          throw t.error("prompts", "prompt id '" + p.id() + "' is used twice; ids must be unique");
        }
        if (!texts.add(p.text())) {
          throw t.error("prompts", "prompt '" + p.text() + "' is listed twice");
        }
      }
      return List.copyOf(out);
    }

    private String nonEmpty(String s, String path) {
      if (s.isEmpty()) {
        throw t.error(path, "a prompt must not be empty");
      }
      return s;
    }

    private Decoding decoding(JsonNode n) {
      String at = "decoding";
      if (n == null) {
        n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
      } else if (!n.isObject()) {
        throw t.error(at, "must be a mapping with keys " + String.join(", ", DECODING));
      } else {
        checkKeys(n, at, DECODING);
      }
      double temperature = number(n, at + ".temperature", 0.0);
      if (!(temperature >= 0) || Double.isInfinite(temperature)) {
        throw t.error(at + ".temperature", "(" + temperature + ") must be a finite number >= 0");
      }
      int topK = integer(n, at + ".top_k", 0, 0, Integer.MAX_VALUE);
      double topP = number(n, at + ".top_p", 1.0);
      if (!(topP > 0 && topP <= 1)) {
        throw t.error(at + ".top_p", "(" + topP + ") must be in (0, 1]");
      }
      String method = string(n, at + ".method", "inverse_cdf");
      DrawMethod m =
          switch (method.toLowerCase(Locale.ROOT)) {
            case "inverse_cdf" -> DrawMethod.INVERSE_CDF;
            case "gumbel" -> DrawMethod.GUMBEL;
            default ->
                throw t.error(
                    at + ".method", "'" + method + "' is not known; allowed: inverse_cdf, gumbel");
          };
      int maxTokens = integer(n, at + ".max_tokens", 32, 1, 100_000);
      List<String> stop = new ArrayList<>();
      JsonNode s = n.get("stop");
      if (s != null) {
        if (!s.isArray()) {
          throw t.error(at + ".stop", "must be a list of strings; got " + kind(s));
        }
        for (int i = 0; i < s.size(); i++) {
          String p = at + ".stop[" + i + "]";
          if (!s.get(i).isTextual() || s.get(i).asText().isEmpty()) {
            throw t.error(p, "must be a non-empty string; got " + kind(s.get(i)));
          }
          stop.add(s.get(i).asText());
        }
      }
      List<Long> seeds = new ArrayList<>();
      JsonNode sd = n.get("seeds");
      if (sd == null) {
        seeds.add(0L);
      } else {
        if (!sd.isArray() || sd.isEmpty()) {
          throw t.error(at + ".seeds", "must be a non-empty list of integers; got " + kind(sd));
        }
        for (int i = 0; i < sd.size(); i++) {
          String p = at + ".seeds[" + i + "]";
          if (!sd.get(i).canConvertToLong() || !sd.get(i).isIntegralNumber()) {
            throw t.error(p, "must be an integer; got " + kind(sd.get(i)));
          }
          long v = sd.get(i).asLong();
          if (seeds.contains(v)) {
            throw t.error(p, "seed " + v + " is listed twice");
          }
          seeds.add(v);
        }
      }
      double timeout = number(n, at + ".timeout_seconds", 0.0);
      if (!(timeout >= 0) || Double.isInfinite(timeout)) {
        throw t.error(at + ".timeout_seconds", "(" + timeout + ") must be a finite number >= 0");
      }
      return new Decoding(
          temperature, topK, topP, m, maxTokens, List.copyOf(stop), List.copyOf(seeds), timeout);
    }

    private Axes axes(JsonNode n) {
      String at = "axes";
      if (n == null) {
        n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
      } else if (!n.isObject()) {
        throw t.error(at, "must be a mapping with keys " + String.join(", ", AXES));
      } else {
        checkKeys(n, at, AXES);
      }
      List<DeviceSpec> devices = new ArrayList<>();
      boolean optional = false;
      JsonNode d = n.get("device");
      JsonNode dv = d;
      String dat = at + ".device";
      if (d != null && d.isObject()) {
        checkKeys(d, dat, DEVICE);
        optional = bool(d, dat + ".optional", false);
        dv = d.get("values");
        dat = dat + ".values";
        if (dv == null) {
          throw t.error(at + ".device", "missing key 'values' (a list of cpu, gpu, gpu:N)");
        }
      }
      List<String> dvs = strings(dv, dat, List.of("cpu"), "cpu, gpu, gpu:N");
      for (int i = 0; i < dvs.size(); i++) {
        String s = dvs.get(i);
        String el = dat + "[" + i + "]";
        DeviceSpec spec;
        try {
          spec = DeviceSpec.parse(s);
        } catch (IllegalArgumentException e) {
          throw t.error(el, "'" + s + "' is not known; allowed: cpu, gpu, gpu:N");
        }
        if (devices.contains(spec)) {
          throw t.error(el, "device " + spec + " is listed twice");
        }
        devices.add(spec);
      }
      List<Integer> sizes = List.of(1);
      List<String> positions = List.of("first");
      JsonNode b = n.get("batch");
      if (b != null) {
        if (!b.isObject()) {
          throw t.error(at + ".batch", "must be a mapping with keys sizes, positions");
        }
        checkKeys(b, at + ".batch", BATCH);
        sizes = integers(b.get("sizes"), at + ".batch.sizes", List.of(1), 1, 256);
        positions = positions(b.get("positions"), at + ".batch.positions", sizes);
      }
      List<SummationOrder> sums = new ArrayList<>();
      List<String> svs =
          strings(
              n.get("summation"),
              at + ".summation",
              List.of("native"),
              "native, splitk:S:forward|reverse|pairwise|shuffle:SEED");
      for (int i = 0; i < svs.size(); i++) {
        String s = svs.get(i);
        String el = at + ".summation[" + i + "]";
        try {
          SummationOrder o = SummationOrder.parse(s);
          if (sums.contains(o)) {
            throw t.error(el, "'" + s + "' is listed twice");
          }
          sums.add(o);
        } catch (SpecException e) {
          throw e;
        } catch (IllegalArgumentException e) {
          throw t.error(el, e.getMessage());
        }
      }
      List<Precision> precisions = new ArrayList<>();
      List<String> pvs =
          strings(n.get("precision"), at + ".precision", List.of("fp32"), "fp32, fp16");
      for (int i = 0; i < pvs.size(); i++) {
        String s = pvs.get(i);
        String el = at + ".precision[" + i + "]";
        try {
          Precision p = Precision.parse(s);
          if (p == Precision.BF16) {
            throw new IllegalArgumentException("bf16");
          }
          if (precisions.contains(p)) {
            throw t.error(el, "'" + s + "' is listed twice");
          }
          precisions.add(p);
        } catch (SpecException e) {
          throw e;
        } catch (IllegalArgumentException e) {
          throw t.error(
              el, "'" + s + "' is not allowed; allowed: fp32, fp16 (bf16 aborts DJL 0.36's JVM)");
        }
      }
      List<Integer> threads = integers(n.get("threads"), at + ".threads", List.of(0), 0, 1024);
      List<Boolean> invariant = new ArrayList<>();
      JsonNode bi = n.get("batch_invariant");
      if (bi == null) {
        invariant.add(false);
      } else {
        if (!bi.isArray() || bi.isEmpty()) {
          throw t.error(at + ".batch_invariant", "must be a non-empty list of true/false");
        }
        for (int i = 0; i < bi.size(); i++) {
          String p = at + ".batch_invariant[" + i + "]";
          if (!bi.get(i).isBoolean()) {
            throw t.error(p, "must be true or false; got " + kind(bi.get(i)));
          }
          if (invariant.contains(bi.get(i).asBoolean())) {
            throw t.error(p, bi.get(i).asBoolean() + " is listed twice");
          }
          invariant.add(bi.get(i).asBoolean());
        }
      }
      int repeats = integer(n, at + ".repeats", 1, 1, 1000);
      return new Axes(
          List.copyOf(devices),
          optional,
          sizes,
          positions,
          List.copyOf(sums),
          List.copyOf(precisions),
          threads,
          List.copyOf(invariant),
          repeats);
    }

    private List<String> positions(JsonNode n, String at, List<Integer> sizes) {
      if (n == null) {
        return List.of("first");
      }
      if (!n.isArray() || n.isEmpty()) {
        throw t.error(at, "must be a non-empty list of first, middle, last or row numbers");
      }
      int smallest = sizes.stream().mapToInt(Integer::intValue).min().orElse(1);
      List<String> out = new ArrayList<>();
      for (int i = 0; i < n.size(); i++) {
        JsonNode v = n.get(i);
        String p = at + "[" + i + "]";
        String s;
        if (v.isIntegralNumber()) {
          int k = v.asInt();
          if (k < 0 || k >= smallest) {
            throw t.error(
                p,
                "row "
                    + k
                    + " does not fit batch size "
                    + smallest
                    + "; allowed: first, middle, last or a row number in [0, "
                    + (smallest - 1)
                    + "]");
          }
          s = Integer.toString(k);
        } else if (v.isTextual() && Set.of("first", "middle", "last").contains(v.asText())) {
          s = v.asText();
        } else {
          throw t.error(p, "allowed: first, middle, last or a row number; got " + kind(v));
        }
        if (out.contains(s)) {
          throw t.error(p, "'" + s + "' is listed twice");
        }
        out.add(s);
      }
      return List.copyOf(out);
    }

    private Recording record(JsonNode n) {
      String at = "record";
      if (n == null) {
        return new Recording(16, false);
      }
      if (!n.isObject()) {
        throw t.error(at, "must be a mapping with keys " + String.join(", ", RECORD));
      }
      checkKeys(n, at, RECORD);
      return new Recording(
          integer(n, at + ".top_k", 16, 1, 1024), bool(n, at + ".full_logits", false));
    }

    private Point reference(JsonNode n, ExperimentSpec s) {
      Axes a = s.axes();
      int b = a.batchSizes().get(0);
      Point def =
          new Point(
              a.devices().get(0),
              b,
              a.positionsFor(b).get(0),
              a.summations().get(0),
              a.precisions().get(0),
              a.threads().get(0),
              a.batchInvariant().get(0));
      if (n == null) {
        return def;
      }
      String at = "reference";
      if (!n.isObject()) {
        throw t.error(at, "must be a mapping with keys " + String.join(", ", REFERENCE));
      }
      checkKeys(n, at, REFERENCE);
      DeviceSpec device = def.device();
      if (n.has("device")) {
        try {
          device = DeviceSpec.parse(string(n, at + ".device", null));
        } catch (SpecException e) {
          throw e;
        } catch (IllegalArgumentException e) {
          throw t.error(at + ".device", e.getMessage());
        }
      }
      int size = integer(n, at + ".batch_size", def.batchSize(), 1, 256);
      int pos =
          n.has("batch_position") || size != def.batchSize()
              ? integer(n, at + ".batch_position", 0, 0, size - 1)
              : def.batchPosition();
      SummationOrder sum = def.summation();
      if (n.has("summation")) {
        try {
          sum = SummationOrder.parse(string(n, at + ".summation", null));
        } catch (SpecException e) {
          throw e;
        } catch (IllegalArgumentException e) {
          throw t.error(at + ".summation", e.getMessage());
        }
      }
      Precision prec = def.precision();
      if (n.has("precision")) {
        try {
          prec = Precision.parse(string(n, at + ".precision", null));
        } catch (SpecException e) {
          throw e;
        } catch (IllegalArgumentException e) {
          throw t.error(at + ".precision", e.getMessage());
        }
      }
      int threads = integer(n, at + ".threads", def.threads(), 0, 1024);
      boolean inv = bool(n, at + ".batch_invariant", def.batchInvariant());
      Point p = new Point(device, size, pos, sum, prec, threads, inv);
      if (!s.points().contains(p)) {
        throw t.error(
            at,
            "the point "
                + p.key()
                + " is not in the grid; the reference must be one of its points");
      }
      return p;
    }

    // --- typed field readers -------------------------------------------------------------------

    private void checkKeys(JsonNode n, String at, Set<String> allowed) {
      Iterator<String> it = n.fieldNames();
      while (it.hasNext()) {
        String k = it.next();
        if (!allowed.contains(k)) {
          String path = at.isEmpty() ? k : at + "." + k;
          throw t.error(path, "unknown key; allowed here: " + String.join(", ", allowed));
        }
      }
    }

    private static String leaf(String path) {
      int i = path.lastIndexOf('.');
      return i < 0 ? path : path.substring(i + 1);
    }

    private JsonNode field(JsonNode parent, String path) {
      return parent.get(leaf(path));
    }

    private String string(JsonNode parent, String path, String def) {
      JsonNode v = field(parent, path);
      if (v == null || v.isNull()) {
        if (def == null) {
          throw t.error(path, "missing; a string is required");
        }
        return def;
      }
      if (!v.isTextual()) {
        throw t.error(path, "must be a string; got " + kind(v));
      }
      return v.asText();
    }

    private double number(JsonNode parent, String path, double def) {
      JsonNode v = field(parent, path);
      if (v == null || v.isNull()) {
        return def;
      }
      if (!v.isNumber()) {
        throw t.error(path, "must be a number; got " + kind(v));
      }
      return v.asDouble();
    }

    private int integer(JsonNode parent, String path, int def, int min, int max) {
      JsonNode v = field(parent, path);
      if (v == null || v.isNull()) {
        return def;
      }
      return checkedInt(v, path, min, max);
    }

    private int checkedInt(JsonNode v, String path, int min, int max) {
      if (!v.isIntegralNumber() || !v.canConvertToInt()) {
        throw t.error(path, "must be an integer in [" + min + ", " + max + "]; got " + kind(v));
      }
      int x = v.asInt();
      if (x < min || x > max) {
        throw t.error(path, "(" + x + ") is out of range; allowed: [" + min + ", " + max + "]");
      }
      return x;
    }

    private boolean bool(JsonNode parent, String path, boolean def) {
      JsonNode v = field(parent, path);
      if (v == null || v.isNull()) {
        return def;
      }
      if (!v.isBoolean()) {
        throw t.error(path, "must be true or false; got " + kind(v));
      }
      return v.asBoolean();
    }

    private List<String> strings(JsonNode n, String at, List<String> def, String allowed) {
      if (n == null) {
        return def;
      }
      if (!n.isArray() || n.isEmpty()) {
        throw t.error(at, "must be a non-empty list; allowed values: " + allowed);
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < n.size(); i++) {
        if (!n.get(i).isTextual()) {
          throw t.error(
              at + "[" + i + "]", "must be a string (" + allowed + "); got " + kind(n.get(i)));
        }
        out.add(n.get(i).asText());
      }
      return out;
    }

    private List<Integer> integers(JsonNode n, String at, List<Integer> def, int min, int max) {
      if (n == null) {
        return def;
      }
      if (!n.isArray() || n.isEmpty()) {
        throw t.error(at, "must be a non-empty list of integers in [" + min + ", " + max + "]");
      }
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < n.size(); i++) {
        int v = checkedInt(n.get(i), at + "[" + i + "]", min, max);
        if (out.contains(v)) {
          throw t.error(at + "[" + i + "]", v + " is listed twice");
        }
        out.add(v);
      }
      return List.copyOf(out);
    }

    private static String kind(JsonNode v) {
      if (v.isTextual()) {
        return "the string \"" + v.asText() + "\"";
      }
      if (v.isNull()) {
        return "nothing (null)";
      }
      if (v.isArray()) {
        return "a list";
      }
      if (v.isObject()) {
        return "a mapping";
      }
      return v.getNodeType().toString().toLowerCase(Locale.ROOT) + " " + v;
    }
  }
}
