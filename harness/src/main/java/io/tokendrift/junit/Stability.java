package io.tokendrift.junit;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.spec.ExperimentSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.opentest4j.AssertionFailedError;

/**
 * An output-stability assertion for a model and prompts across conditions: runs the experiment the
 * builder describes, analyses it, writes the reports, and fails with one message per offending run
 * (from the same builder as {@code tokendrift check}) when any run diverged beyond numerical noise.
 */
public final class Stability {
  private final Path dir;
  private final String name;
  private final BiConsumer<String, String> report;
  private String model = ExperimentSpec.BUNDLED;
  private final List<String> prompts = new ArrayList<>();
  private int[] batchSizes = {1};
  private List<String> summations = List.of("native");
  private List<String> precisions = List.of("fp32");
  private int[] threads = {0};
  private int maxTokens = 16;
  private int repeats = 1;
  private Path specFile;
  private Path baseline;
  private boolean recordBaseline = Boolean.getBoolean("tokendrift.record");
  private double budget = 0.1;
  private double tolerance = Double.NaN;
  private double temperature = 0;
  private int topK = 0;
  private double topP = 1;
  private long[] seeds = {0};
  private List<String> devices = List.of("cpu");
  private boolean devicesOptional;
  private List<String> positions = List.of("first", "last");
  private List<Boolean> batchInvariant = List.of(false);
  private final java.util.Map<String, String> reference = new java.util.LinkedHashMap<>();

  /** A row of a batch by its place: the first, the middle ({@code size / 2}) or the last. */
  public enum Position {
    FIRST,
    MIDDLE,
    LAST;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  Stability(Path dir, String name, BiConsumer<String, String> report) {
    this(dir, name, report, file -> {});
  }

  private final java.util.function.Consumer<Path> files;

  /**
   * @param files publishes a written report file (JUnit's file entries), where the launcher
   *     supports it
   */
  Stability(
      Path dir,
      String name,
      BiConsumer<String, String> report,
      java.util.function.Consumer<Path> files) {
    this.files = files;
    this.dir = dir;
    String n = name.replaceAll("[^A-Za-z0-9._-]", "-");
    this.name = n.length() > 64 ? n.substring(0, 64) : n; // the spec's limit on names
    this.report = report;
  }

  /**
   * A Hugging Face GPT-2 folder, or "bundled" (the default). A relative path is resolved against
   * the project directory (the working directory of the test run), not the report folder.
   */
  public Stability model(String m) {
    this.model = m.equals(ExperimentSpec.BUNDLED) ? m : Path.of(m).toAbsolutePath().toString();
    return this;
  }

  /** A model folder. */
  public Stability model(Path m) {
    return model(m.toString());
  }

  /**
   * Runs this spec file instead of the builder's settings (paths in it resolve against its own
   * folder, as for {@code tokendrift run}).
   */
  public Stability spec(Path file) {
    this.specFile = file.toAbsolutePath();
    return this;
  }

  /**
   * Compares every run with its golden twin in this baseline folder, by {@code tokendrift check}'s
   * own verdicts, instead of conditions with their reference point. A missing baseline fails the
   * test, unless recording is asked for ({@link #recordBaselineIfMissing()} or {@code
   * -Dtokendrift.record=true}).
   */
  public Stability againstBaseline(Path dir) {
    this.baseline = dir.toAbsolutePath();
    return this;
  }

  /** With {@link #againstBaseline(Path)}: record the baseline when the folder does not exist. */
  public Stability recordBaselineIfMissing() {
    this.recordBaseline = true;
    return this;
  }

  /** Share of runs that may diverge at explained near-ties in the lenient assertion (0.1). */
  public Stability budget(double share) {
    if (!(share >= 0 && share <= 1)) {
      throw new IllegalArgumentException("Stability.budget(" + share + "): must be in [0, 1]");
    }
    this.budget = share;
    return this;
  }

  /** Contraction orders, typed. */
  public Stability summations(io.tokendrift.engine.SummationOrder... s) {
    this.summations = java.util.Arrays.stream(s).map(Object::toString).toList();
    return this;
  }

  /** Precisions, typed (bf16 is refused: DJL aborts on it). */
  public Stability precisions(io.tokendrift.engine.Precision... p) {
    for (io.tokendrift.engine.Precision x : p) {
      if (x == io.tokendrift.engine.Precision.BF16) {
        throw new IllegalArgumentException(
            "Stability.precisions(BF16): not supported by the DJL engine (it aborts the JVM)");
      }
    }
    this.precisions =
        java.util.Arrays.stream(p).map(io.tokendrift.engine.Precision::label).toList();
    return this;
  }

  /** Adds prompts (each is run under every condition); call once or several times. */
  public Stability prompts(String... p) {
    prompts.addAll(List.of(p));
    return this;
  }

  /** Each prompt is tried at the first and last row of every size. */
  public Stability batchSizes(int... b) {
    this.batchSizes = b.clone();
    return this;
  }

  /**
   * Contraction orders as text ({@code native}, {@code splitk:S:ORDER}); see the typed overload.
   */
  public Stability summations(String... s) {
    this.summations = List.of(s);
    return this;
  }

  /** Precisions as text ({@code fp32}, {@code fp16}); see the typed overload. */
  public Stability precisions(String... p) {
    this.precisions = List.of(p);
    return this;
  }

  /** PyTorch intra-op thread counts to try (0: the library default). */
  public Stability threads(int... t) {
    this.threads = t.clone();
    return this;
  }

  /** Tokens generated per run (16 by default). */
  public Stability maxTokens(int n) {
    this.maxTokens = n;
    return this;
  }

  /** Sampling temperature (0, greedy, by default). */
  public Stability temperature(double t) {
    if (!(t >= 0 && t <= 100)) {
      throw new IllegalArgumentException("Stability.temperature(" + t + "): must be in [0, 100]");
    }
    this.temperature = t;
    return this;
  }

  /** Top-k filtering (0, off, by default). */
  public Stability topK(int k) {
    if (k < 0) {
      throw new IllegalArgumentException("Stability.topK(" + k + "): must be >= 0 (0 disables)");
    }
    this.topK = k;
    return this;
  }

  /** Nucleus mass (1, off, by default). */
  public Stability topP(double p) {
    if (!(p > 0 && p <= 1)) {
      throw new IllegalArgumentException("Stability.topP(" + p + "): must be in (0, 1]");
    }
    this.topP = p;
    return this;
  }

  /** Sampling seeds (each is its own set of runs; {0} by default). */
  public Stability seeds(long... s) {
    if (s.length == 0) {
      throw new IllegalArgumentException("Stability.seeds(): give at least one seed");
    }
    this.seeds = s.clone();
    return this;
  }

  /** Devices to run on (CPU by default). */
  public Stability devices(io.tokendrift.engine.DeviceSpec... d) {
    if (d.length == 0) {
      throw new IllegalArgumentException("Stability.devices(): give at least one device");
    }
    this.devices = java.util.Arrays.stream(d).map(Object::toString).toList();
    return this;
  }

  /**
   * GPU points on a machine without a GPU are skipped (stated in the report) instead of failing.
   */
  public Stability devicesOptional() {
    this.devicesOptional = true;
    return this;
  }

  /** Where each prompt sits in every batch size (first and last by default). */
  public Stability batchPositions(Position... p) {
    if (p.length == 0) {
      throw new IllegalArgumentException("Stability.batchPositions(): give at least one position");
    }
    this.positions = java.util.Arrays.stream(p).map(Position::label).toList();
    return this;
  }

  /** Rows by number (each must fit the smallest batch size). */
  public Stability batchRows(int... rows) {
    if (rows.length == 0) {
      throw new IllegalArgumentException("Stability.batchRows(): give at least one row");
    }
    for (int r : rows) {
      if (r < 0 || r >= IntStream.of(batchSizes).min().orElse(1)) {
        throw new IllegalArgumentException(
            "Stability.batchRows("
                + r
                + "): must be a row of every batch size "
                + java.util.Arrays.toString(batchSizes)
                + " (call batchSizes first)");
      }
    }
    this.positions = IntStream.of(rows).mapToObj(Integer::toString).toList();
    return this;
  }

  /** Default kernels and/or the batch-invariant mode ({false} by default). */
  public Stability batchInvariant(boolean... modes) {
    if (modes.length == 0 || (modes.length == 2 && modes[0] == modes[1]) || modes.length > 2) {
      throw new IllegalArgumentException(
          "Stability.batchInvariant(...): give false, true, or both once each");
    }
    List<Boolean> l = new ArrayList<>();
    for (boolean m : modes) {
      l.add(m);
    }
    this.batchInvariant = List.copyOf(l);
    return this;
  }

  /**
   * With {@link #againstBaseline(Path)}: the largest logit drift from the baseline that still
   * passes (default: the baseline's own noise floor).
   */
  public Stability driftTolerance(double logits) {
    if (!(logits >= 0 && logits < Double.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException(
          "Stability.driftTolerance(" + logits + "): must be a finite number >= 0");
    }
    this.tolerance = logits;
    return this;
  }

  /**
   * The reference point runs are compared with, one axis at a time (by default the first value of
   * every axis), e.g. {@code .reference("batch_size", 1).reference("precision", Precision.FP32)}.
   *
   * @param axis device, batch_size, batch_position, summation, precision, threads or
   *     batch_invariant
   */
  public Stability reference(String axis, Object value) {
    java.util.Set<String> axes = java.util.Set.of(io.tokendrift.spec.Point.AXES);
    if (!axes.contains(axis)) {
      throw new IllegalArgumentException(
          "Stability.reference(\""
              + axis
              + "\", ...): not an axis; allowed: "
              + String.join(", ", new java.util.TreeSet<>(axes)));
    }
    String v =
        value instanceof io.tokendrift.engine.Precision p ? p.label() : String.valueOf(value);
    reference.put(axis, v);
    return this;
  }

  /** Plain repeats of every run (1 by default): repeat 0 is the reference. */
  public Stability repeats(int n) {
    this.repeats = n;
    return this;
  }

  /**
   * Passes when every run is token-identical to its reference (first value of every axis) — or,
   * with {@link #againstBaseline(Path)}, to its golden twin — or diverges only at an explained
   * near-tie (within the budget against a baseline); otherwise fails listing each offending run:
   * prompt (shortened), point, step, expected and actual tokens, margin, or a failed run's reason.
   */
  public Analysis assertIdenticalOrNearTiesOnly() {
    return check(false);
  }

  /** Passes only when every run is token-identical to its reference or golden twin. */
  public Analysis assertIdentical() {
    return check(true);
  }

  private Analysis check(boolean strict) {
    if (prompts.isEmpty() && specFile == null) {
      throw new IllegalArgumentException("Stability: give at least one prompt (or .spec(file))");
    }
    try {
      Files.createDirectories(dir);
      Path spec = specFile;
      if (spec == null) {
        spec = dir.resolve("spec.yaml");
        Files.writeString(spec, yaml());
      }
      ExperimentSpec s;
      try {
        s = ExperimentSpec.read(spec);
      } catch (io.tokendrift.spec.SpecException e) {
        if (specFile != null) {
          throw e;
        }
        // The builder's settings did not make a valid spec: say which, without the YAML's lines.
        String m = e.getMessage();
        throw new IllegalArgumentException(
            "Stability: the settings do not fit together: "
                + m.substring(m.indexOf(": ") + 2)
                + " (generated spec: "
                + spec
                + ")",
            e);
      }
      StabilityRun.Outcome o =
          baseline == null
              ? StabilityRun.againstReference(s, dir, strict)
              : StabilityRun.againstBaseline(
                  s, dir, baseline, recordBaseline, strict, budget, tolerance);
      String where = o.report().toAbsolutePath().toString();
      report.accept("tokendrift.report", where);
      report.accept("tokendrift.summary", o.summary());
      Path folder = o.report().toAbsolutePath().getParent();
      for (String f : List.of("report.html", "report.md", "analysis.json")) {
        if (Files.exists(folder.resolve(f))) {
          files.accept(folder.resolve(f));
        }
      }
      System.out.println("tokendrift report: " + where); // visible in Maven's and IDEs' output
      if (!o.failures().isEmpty()) {
        throw new AssertionFailedError(
            o.failures().size()
                + " run(s) "
                + (strict ? "not identical" : "changed beyond numerical noise")
                + " (report: "
                + where
                + "):\n"
                + String.join("\n", o.failures()));
      }
      return o.analysis();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String yaml() {
    StringBuilder b = new StringBuilder();
    b.append("name: ").append(name).append('\n');
    b.append("model: ").append(YamlText.quote(model)).append('\n');
    b.append("prompts:\n");
    for (String p : prompts) {
      b.append("  - ").append(YamlText.quote(p)).append('\n');
    }
    b.append("decoding: {max_tokens: ")
        .append(maxTokens)
        .append(", temperature: ")
        .append(temperature)
        .append(", top_k: ")
        .append(topK)
        .append(", top_p: ")
        .append(topP)
        .append(", seeds: [")
        .append(LongStream.of(seeds).mapToObj(Long::toString).collect(Collectors.joining(", ")))
        .append("]}\n");
    b.append("axes:\n");
    b.append("  device: {values: [")
        .append(String.join(", ", devices))
        .append("], optional: ")
        .append(devicesOptional)
        .append("}\n");
    b.append("  batch: {sizes: [")
        .append(
            IntStream.of(batchSizes).mapToObj(Integer::toString).collect(Collectors.joining(", ")))
        .append("], positions: [")
        .append(String.join(", ", positions))
        .append("]}\n");
    b.append("  batch_invariant: [")
        .append(batchInvariant.stream().map(Object::toString).collect(Collectors.joining(", ")))
        .append("]\n");
    b.append("  summation: [")
        .append(summations.stream().map(YamlText::quote).collect(Collectors.joining(", ")))
        .append("]\n");
    b.append("  precision: [").append(String.join(", ", precisions)).append("]\n");
    b.append("  threads: [")
        .append(IntStream.of(threads).mapToObj(Integer::toString).collect(Collectors.joining(", ")))
        .append("]\n");
    b.append("  repeats: ").append(repeats).append('\n');
    if (!reference.isEmpty()) {
      b.append("reference:\n");
      reference.forEach(
          (k, v) ->
              b.append("  ").append(k).append(": ").append(YamlText.scalar(k, v)).append('\n'));
    }
    return b.toString();
  }
}
