package io.tokendrift.junit;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.experiment.ExperimentSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
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

  Stability(Path dir, String name, BiConsumer<String, String> report) {
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
      ExperimentSpec s = ExperimentSpec.read(spec);
      StabilityRun.Outcome o =
          baseline == null
              ? StabilityRun.againstReference(s, dir, strict)
              : StabilityRun.againstBaseline(s, dir, baseline, recordBaseline, strict, budget);
      String where = o.report().toAbsolutePath().toString();
      report.accept("tokendrift.report", where);
      report.accept("tokendrift.summary", o.summary());
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
    b.append("model: ").append(quote(model)).append('\n');
    b.append("prompts:\n");
    for (String p : prompts) {
      b.append("  - ").append(quote(p)).append('\n');
    }
    b.append("decoding: {max_tokens: ").append(maxTokens).append("}\n");
    b.append("axes:\n");
    b.append("  batch: {sizes: [")
        .append(
            IntStream.of(batchSizes).mapToObj(Integer::toString).collect(Collectors.joining(", ")))
        .append("], positions: [first, last]}\n");
    b.append("  summation: [")
        .append(summations.stream().map(Stability::quote).collect(Collectors.joining(", ")))
        .append("]\n");
    b.append("  precision: [").append(String.join(", ", precisions)).append("]\n");
    b.append("  threads: [")
        .append(IntStream.of(threads).mapToObj(Integer::toString).collect(Collectors.joining(", ")))
        .append("]\n");
    b.append("  repeats: ").append(repeats).append('\n');
    return b.toString();
  }

  /** A YAML double-quoted scalar. */
  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}
