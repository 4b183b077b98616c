package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.AnalysisJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Writes the report formats next to each other: analysis.json, report.md, report.html. */
public final class Reports {
  public static final Set<String> FORMATS = Set.of("json", "md", "html");

  private Reports() {}

  /** Parses "html,md,json" (any order); refuses unknown names. */
  public static Set<String> formats(String list) {
    Set<String> out = new LinkedHashSet<>();
    for (String f : list.split(",")) {
      String x = f.trim().toLowerCase(Locale.ROOT);
      if (!FORMATS.contains(x)) {
        throw new IllegalArgumentException(
            "--format: '" + f.trim() + "' is not known; allowed: html, md, json (comma-separated)");
      }
      out.add(x);
    }
    return out;
  }

  /** analysis.json of {@code a}, with its summary in plain words. */
  public static String analysisJson(Analysis a) {
    return AnalysisJson.write(a, Sentences.summary(a));
  }

  /**
   * Refuses anything but an analysis.json of this version, naming the file and what it holds.
   *
   * @throws IllegalArgumentException (exit 2) otherwise
   */
  public static void checkSchema(Path file, String json) {
    com.fasterxml.jackson.databind.JsonNode n;
    try {
      n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(
          file + ": not JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
    }
    String schema = n == null ? "" : n.path("schema").asText("");
    if (!schema.equals(Analysis.SCHEMA)) {
      throw new IllegalArgumentException(
          file
              + ": not an analysis of this version (schema '"
              + schema
              + "', expected '"
              + Analysis.SCHEMA
              + "'"
              + (schema.startsWith("tokendrift.analysis/")
                  ? "); run `tokendrift analyze` on its traces again"
                  : "); give the analysis.json that `tokendrift analyze` writes"));
    }
  }

  /**
   * Writes the chosen formats of {@code analysisJson} into {@code dir} (each atomically); returns
   * the files written.
   */
  public static List<Path> write(Path dir, String analysisJson, Set<String> formats)
      throws IOException {
    Files.createDirectories(dir);
    JsonNode a = new ObjectMapper().readTree(analysisJson);
    List<Path> out = new ArrayList<>();
    if (formats.contains("json")) {
      out.add(put(dir.resolve("analysis.json"), analysisJson));
    }
    if (formats.contains("md")) {
      out.add(put(dir.resolve("report.md"), MarkdownReport.render(a)));
    }
    if (formats.contains("html")) {
      out.add(put(dir.resolve("report.html"), HtmlReport.render(a)));
    }
    return out;
  }

  private static Path put(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }
}
