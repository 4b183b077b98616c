package io.tokendrift.cli;

import io.tokendrift.report.Reports;
import java.util.Set;
import picocli.CommandLine.Option;

/** The analysis settings analyze and combine share. */
final class AnalysisFlags {
  @Option(
      names = "--floor-quantile",
      defaultValue = "0.99",
      description =
          "Quantile of per-step |Δlogit| taken as a condition's noise floor (default 0.99).")
  double floorQuantile;

  @Option(
      names = "--near-tie",
      defaultValue = "0.6931471805599453",
      description = "Margin (nats) at or below which a step is a near-tie (default ln 2).")
  double nearTie;

  @Option(
      names = "--format",
      defaultValue = "json,md,html",
      paramLabel = "LIST",
      description = "Which files to write: json, md, html (default: all).")
  String format;

  /** The floor's quantile, checked. */
  double floorQuantile() {
    if (!(floorQuantile > 0 && floorQuantile < 1)) {
      throw new UserInputException("--floor-quantile (" + floorQuantile + ") must be in (0, 1)");
    }
    return floorQuantile;
  }

  double nearTie() {
    return nearTie;
  }

  /** The formats to write, checked. */
  Set<String> formats() {
    return Reports.formats(format);
  }
}
