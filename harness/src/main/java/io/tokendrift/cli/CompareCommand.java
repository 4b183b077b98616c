package io.tokendrift.cli;

import io.tokendrift.analysis.Compare;
import io.tokendrift.report.Sentences;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Compares two experiments. */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description = {
      "Compare experiment B with experiment A: divergence rates within each (Fisher exact),",
      "Div_Index distributions (Kolmogorov-Smirnov), and every run of B against its twin in A",
      "judged by A's noise floor (e.g. a changed model or machine against a baseline)."
    })
final class CompareCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "A", description = "Baseline trace.")
  Path a;

  @Parameters(index = "1", paramLabel = "B", description = "Trace to compare.")
  Path b;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write compare.json here.")
  Path json;

  @Override
  public Integer call() throws Exception {
    Compare c = Compare.of(List.of(a), List.of(b), AnalyzeCommand.options(a, 0.99, Math.log(2)));
    PrintWriter o = spec.commandLine().getOut();
    String summary = Sentences.compare(c);
    o.println(summary);
    if (json != null) {
      Files.writeString(json, c.toJson(summary), StandardCharsets.UTF_8);
      o.println("compare: " + json);
    }
    return Main.OK;
  }
}
