package io.tokendrift.cli;

import io.tokendrift.report.Reports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Renders an analysis.json as Markdown and a self-contained HTML page. */
@Command(
    name = "report",
    header = "Render an analysis as report.md and report.html.",
    footer = {"", "Example:", "  tokendrift report reports/quickstart/analysis.json"},
    mixinStandardHelpOptions = true,
    description =
        "Render analysis.json as report.md (for CI summaries and PR comments, under 64 KB) and report.html (one self-contained file: charts, token-level view, environment, methods).")
final class ReportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "ANALYSIS", description = "An analysis.json.")
  Path analysis;

  @Option(
      names = "--format",
      defaultValue = "html,md",
      paramLabel = "LIST",
      description = "Comma-separated: html, md, json (default: html,md).")
  String format;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Folder to write into (default: the analysis file's folder).")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(analysis)) {
      throw new UserInputException(analysis + ": no such file (give an analysis.json)");
    }
    String json = Files.readString(analysis);
    Reports.checkSchema(analysis, json);
    Path dir = out != null ? out : analysis.toAbsolutePath().getParent();
    var formats = Reports.formats(format);
    if (dir.equals(analysis.toAbsolutePath().getParent())) {
      formats.remove("json"); // it is already there
    }
    for (Path p : Reports.write(dir, json, formats)) {
      spec.commandLine().getOut().println("wrote " + p);
    }
    return Main.OK;
  }
}
