package io.tokendrift.junit;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.check.CheckMessage;
import io.tokendrift.experiment.ExperimentSpec;
import io.tokendrift.experiment.Plan;
import io.tokendrift.experiment.Runner;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.report.Reports;
import io.tokendrift.report.Sentences;
import io.tokendrift.trace.RunRecord;
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

  Stability(Path dir, String name, BiConsumer<String, String> report) {
    this.dir = dir;
    String n = name.replaceAll("[^A-Za-z0-9._-]", "-");
    this.name = n.length() > 64 ? n.substring(0, 64) : n; // the spec's limit on names
    this.report = report;
  }

  /** A Hugging Face GPT-2 folder, or "bundled" (the default). */
  public Stability model(String m) {
    this.model = m;
    return this;
  }

  public Stability prompts(String... p) {
    prompts.addAll(List.of(p));
    return this;
  }

  /** Each prompt is tried at the first and last row of every size. */
  public Stability batchSizes(int... b) {
    this.batchSizes = b.clone();
    return this;
  }

  public Stability summations(String... s) {
    this.summations = List.of(s);
    return this;
  }

  public Stability precisions(String... p) {
    this.precisions = List.of(p);
    return this;
  }

  public Stability threads(int... t) {
    this.threads = t.clone();
    return this;
  }

  public Stability maxTokens(int n) {
    this.maxTokens = n;
    return this;
  }

  public Stability repeats(int n) {
    this.repeats = n;
    return this;
  }

  /**
   * Passes when every run is token-identical to its reference (first value of every axis) or
   * diverges only at a near-tie within the noise floor of its condition; otherwise fails listing
   * the unexplained runs. Returns the analysis for further assertions.
   */
  public Analysis assertIdenticalOrNearTiesOnly() {
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("Stability: give at least one prompt");
    }
    try {
      Files.createDirectories(dir);
      Path spec = dir.resolve("spec.yaml");
      Files.writeString(spec, yaml());
      ExperimentSpec s = ExperimentSpec.read(spec);
      Path trace = dir.resolve("trace.jsonl");
      Runner.run(
          new Plan(s),
          new Runner.Options(trace, false, true, false, 0, 1),
          Runner.Progress.NONE,
          line -> {});
      Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
      List<String> failures = new ArrayList<>();
      try (TextTokenizer tok = Runner.model(s).tokenizer()) {
        a.withTokenText(tok::tokenText);
        Reports.write(dir, Reports.analysisJson(a), Reports.FORMATS);
        for (Analyzer.RunResult r : a.runs()) {
          if (r.verdict() == Analyzer.Verdict.UNEXPLAINED
              || r.verdict() == Analyzer.Verdict.FAILED) {
            RunRecord ref = a.referenceOf(r);
            failures.add(
                CheckMessage.of(
                    r.prompt(),
                    r.point().key(),
                    ref == null ? new int[0] : ref.tokens(),
                    r.tokens(),
                    r.comparison(),
                    r.verdict().label(),
                    r.threshold(),
                    Double.NaN,
                    tok::tokenText));
          }
        }
      }
      report.accept("tokendrift.report", dir.resolve("report.html").toAbsolutePath().toString());
      report.accept("tokendrift.summary", Sentences.summary(a));
      if (!failures.isEmpty()) {
        throw new AssertionFailedError(
            failures.size()
                + " run(s) changed beyond numerical noise (report: "
                + dir.resolve("report.html")
                + "):\n"
                + String.join("\n", failures));
      }
      return a;
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
