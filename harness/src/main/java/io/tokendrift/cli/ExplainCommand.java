package io.tokendrift.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tokendrift.decode.Choice;
import io.tokendrift.decode.Draws;
import io.tokendrift.decode.Sampler;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.decode.Stages;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The seed's "verify your understanding" made executable: every stage of the pipeline, printed. */
@Command(
    name = "explain",
    header = "Show what temperature, top-k and top-p do to a logit vector.",
    footer = {"", "Example:", "  tokendrift explain --logits 3,2,1,0.5 --top-k 2"},
    mixinStandardHelpOptions = true,
    description =
        "Show what temperature, top-k and top-p do to a logit vector, stage by stage. Example: tokendrift explain --logits 3,2,1,0.5 --top-k 2")
final class ExplainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SamplingOptions sampling = new SamplingOptions();

  @Option(
      names = "--logits",
      split = ",",
      paramLabel = "X",
      description = "Comma-separated logits, one per token id (e.g. 3,2,1,0.5).")
  float[] logits;

  @Option(
      names = "--logits-file",
      paramLabel = "FILE",
      description = "A file of logits separated by commas, spaces or line breaks.")
  Path logitsFile;

  @Option(
      names = "--temperature",
      defaultValue = "1",
      description = "Temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(
      names = "--temperatures",
      split = ",",
      paramLabel = "T",
      description = "Print softmax(logits / T) for each T, as the seed's temperature table.")
  double[] temperatures;

  @Option(
      names = "--samples",
      defaultValue = "0",
      description = "Draw N tokens with the sampler and compare with the expected frequencies.")
  int samples;

  @Option(names = "--json", description = "Print JSON instead of tables.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    float[] v = logits();
    SamplingSettings s = sampling.settings(temperature);
    if (samples < 0) {
      throw new UserInputException("--samples (" + samples + ") must be >= 0");
    }
    if (temperatures != null) {
      for (double t : temperatures) {
        new SamplingSettings(
            t, 0, 1, sampling.method); // same range check and message as --temperature
      }
    }
    Stages stages = Stages.of(v, s);
    SampleCheck check = samples > 0 ? SampleCheck.run(v, s, samples, sampling.seed) : null;
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(json(v, s, stages, check));
    } else {
      printTables(out, v, s, stages, check);
    }
    out.flush();
    return Main.OK;
  }

  private float[] logits() {
    if ((logits == null) == (logitsFile == null)) {
      throw new UserInputException("give exactly one of --logits and --logits-file");
    }
    return logits != null ? logits : LogitsFile.read(logitsFile);
  }

  private void printTables(
      PrintWriter out, float[] v, SamplingSettings s, Stages st, SampleCheck check) {
    out.printf(Locale.ROOT, "Raw logits (%d tokens)%n", v.length);
    out.printf(Locale.ROOT, "  %5s  %10s%n", "token", "logit");
    for (int i = 0; i < v.length; i++) {
      out.printf(Locale.ROOT, "  %5d  %10.4f%n", i, v[i]);
    }
    if (s.greedy()) {
      out.printf(
          Locale.ROOT,
          "%nTemperature 0: greedy decoding, token %d (the largest logit; lowest id on a tie)%n",
          io.tokendrift.decode.Logits.argmax(v));
    } else {
      stage(
          out,
          "After temperature T = " + num(s.temperature()) + ": softmax(logits / T)",
          st.afterTemperature(),
          null);
      stage(
          out,
          s.topK() == 0
              ? "After top-k: disabled (k = 0)"
              : s.topK() >= v.length
                  ? "After top-k (k = "
                      + s.topK()
                      + ", clamped to the vocabulary of "
                      + v.length
                      + ": nothing removed), renormalised"
                  : "After top-k (k = " + s.topK() + "), renormalised",
          st.afterTopK(),
          st.afterTopK());
      stage(
          out,
          s.topP() >= 1
              ? "After top-p: disabled (p = 1); this is the sampled distribution"
              : "After top-p (p = "
                  + num(s.topP())
                  + "), renormalised; this is the sampled distribution",
          st.afterTopP(),
          st.afterTopP());
    }
    if (temperatures != null) {
      out.printf(Locale.ROOT, "%nTemperature table: softmax(logits / T)%n");
      StringBuilder head =
          new StringBuilder(String.format(Locale.ROOT, "  %5s  %10s", "token", "logit"));
      for (double t : temperatures) {
        head.append(String.format(Locale.ROOT, "  %8s", "T=" + num(t)));
      }
      out.println(head);
      double[][] table = temperatureTable(v);
      for (int i = 0; i < v.length; i++) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %5d  %10.4f", i, v[i]));
        for (double[] col : table) {
          row.append(String.format(Locale.ROOT, "  %7.1f%%", 100 * col[i]));
        }
        out.println(row);
      }
    }
    if (check != null) {
      out.printf(
          Locale.ROOT,
          "%n%d draws (%s, seed %d): observed vs expected%n",
          check.n(),
          s.greedy() ? "greedy" : s.method().name().toLowerCase(Locale.ROOT).replace('_', '-'),
          sampling.seed);
      out.printf(
          Locale.ROOT,
          "  %5s  %9s  %9s  %8s  %8s%n",
          "token",
          "observed",
          "expected",
          "obs %",
          "exp %");
      for (int i = 0; i < v.length; i++) {
        double e = check.expected()[i];
        if (e == 0 && check.observed()[i] == 0) {
          continue;
        }
        out.printf(
            Locale.ROOT,
            "  %5d  %9d  %9.1f  %7.2f%%  %7.2f%%%n",
            i,
            check.observed()[i],
            e,
            100.0 * check.observed()[i] / check.n(),
            100.0 * e / check.n());
      }
      if (Double.isNaN(check.pValue())) {
        out.println("  chi-square: not applicable (only one possible token)");
      } else {
        out.printf(
            Locale.ROOT,
            "  chi-square goodness of fit: statistic %.4f, %d degrees of freedom, p-value %.4f%n",
            check.statistic(),
            check.degreesOfFreedom(),
            check.pValue());
      }
    }
  }

  private static void stage(PrintWriter out, String title, double[] probs, double[] keptMask) {
    out.printf(Locale.ROOT, "%n%s%n", title);
    out.printf(Locale.ROOT, "  %5s  %8s%s%n", "token", "prob", keptMask == null ? "" : "  kept");
    for (int i = 0; i < probs.length; i++) {
      String mark = keptMask == null ? "" : keptMask[i] > 0 ? "  *" : "";
      out.printf(Locale.ROOT, "  %5d  %8.4f%s%n", i, probs[i], mark);
    }
  }

  private double[][] temperatureTable(float[] v) {
    double[][] cols = new double[temperatures.length][];
    for (int c = 0; c < temperatures.length; c++) {
      cols[c] = Stages.of(v, SamplingSettings.of(temperatures[c], 0, 1)).afterTemperature();
    }
    return cols;
  }

  private String json(float[] v, SamplingSettings s, Stages st, SampleCheck check)
      throws Exception {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("logits", v);
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("temperature", s.temperature());
    settings.put("top_k", s.topK());
    if (s.topK() >= v.length) {
      settings.put("top_k_effective", v.length);
    }
    settings.put("top_p", s.topP());
    settings.put("method", s.method().name().toLowerCase(Locale.ROOT));
    root.put("settings", settings);
    Map<String, Object> stages = new LinkedHashMap<>();
    stages.put("temperature", st.afterTemperature());
    stages.put("top_k", st.afterTopK());
    stages.put("top_p", st.afterTopP());
    root.put("stages", stages);
    List<Integer> kept = new ArrayList<>();
    for (int i = 0; i < v.length; i++) {
      if (st.afterTopP()[i] > 0) {
        kept.add(i);
      }
    }
    root.put("kept", kept);
    if (temperatures != null) {
      List<Map<String, Object>> rows = new ArrayList<>();
      double[][] table = temperatureTable(v);
      for (int c = 0; c < temperatures.length; c++) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("temperature", temperatures[c]);
        row.put("probabilities", table[c]);
        rows.add(row);
      }
      root.put("temperatures", rows);
    }
    if (check != null) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("n", check.n());
      m.put("seed", sampling.seed);
      m.put("observed", check.observed());
      m.put("expected", check.expected());
      m.put("chi_square", Double.isNaN(check.statistic()) ? null : check.statistic());
      m.put("degrees_of_freedom", check.degreesOfFreedom());
      m.put("p_value", Double.isNaN(check.pValue()) ? null : check.pValue());
      root.put("samples", m);
    }
    return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
  }

  private static String num(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15
        ? Long.toString((long) d)
        : String.format(Locale.ROOT, "%s", d);
  }

  /**
   * Draws from the pipeline and tests the observed counts against the kept distribution.
   *
   * @param observed draws per token id
   * @param expected n times the probability of each token id
   */
  record SampleCheck(
      int n,
      long[] observed,
      double[] expected,
      double statistic,
      int degreesOfFreedom,
      double pValue) {

    static SampleCheck run(float[] v, SamplingSettings s, int n, long seed) {
      long[] observed = new long[v.length];
      Draws draws = new Draws(seed, 0);
      for (int step = 0; step < n; step++) {
        Choice c = Sampler.sample(v, s, draws, step);
        observed[c.token()]++;
      }
      double[] probs = Stages.of(v, s).afterTopP();
      double[] expected = new double[v.length];
      List<Integer> possible = new ArrayList<>();
      for (int i = 0; i < v.length; i++) {
        expected[i] = n * probs[i];
        if (probs[i] > 0) {
          possible.add(i);
        }
      }
      if (possible.size() < 2) {
        return new SampleCheck(n, observed, expected, Double.NaN, 0, Double.NaN);
      }
      double[] e = new double[possible.size()];
      long[] o = new long[possible.size()];
      for (int j = 0; j < e.length; j++) {
        e[j] = expected[possible.get(j)];
        o[j] = observed[possible.get(j)];
      }
      ChiSquareTest test = new ChiSquareTest();
      return new SampleCheck(
          n, observed, expected, test.chiSquare(e, o), e.length - 1, test.chiSquareTest(e, o));
    }
  }
}
