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
    rendered(dir, a, formats, out);
    return out;
  }

  /** Writes report.md and report.html from analysis {@code a}, as chosen, adding them to out. */
  private static void rendered(Path dir, JsonNode a, Set<String> formats, List<Path> out)
      throws IOException {
    if (formats.contains("md")) {
      out.add(put(dir.resolve("report.md"), MarkdownReport.render(a)));
    }
    if (formats.contains("html")) {
      out.add(put(dir.resolve("report.html"), HtmlReport.render(a)));
    }
  }

  /**
   * Writes the chosen formats of {@code a}'s analysis into {@code dir} (each atomically), the same
   * bytes as {@link #write(Path, String, Set)} of {@link #analysisJson}: analysis.json is streamed
   * to its file as it is made, and the reports read from that file, so a large analysis is never a
   * string in memory. Returns the files written.
   */
  public static List<Path> write(Path dir, Analysis a, Set<String> formats) throws IOException {
    Files.createDirectories(dir);
    Path json = dir.resolve("analysis.json");
    Path tmp = json.resolveSibling("analysis.json.tmp");
    List<Path> written = new ArrayList<>();
    JsonNode tree;
    try {
      try (var out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
        AnalysisJson.write(a, Sentences.summary(a), out);
      }
      tree = forReports(tmp);
      if (formats.contains("json")) {
        Files.move(tmp, json, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        written.add(json);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    rendered(dir, tree, formats, written);
    return written;
  }

  /**
   * analysis.json as the reports read it: every section, and of the divergences (worst first) only
   * those the reports show (the ones with a context), however many the file lists.
   */
  static JsonNode forReports(Path file) throws IOException {
    ObjectMapper m = new ObjectMapper();
    try (com.fasterxml.jackson.core.JsonParser p = m.getFactory().createParser(file.toFile())) {
      if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
        throw new IOException(file + ": not an analysis (no JSON object)");
      }
      com.fasterxml.jackson.databind.node.ObjectNode root = m.createObjectNode();
      while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        if (name.equals("divergences") && p.currentToken().isStructStart()) {
          com.fasterxml.jackson.databind.node.ArrayNode kept = root.putArray(name);
          while (p.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
            if (kept.size() < Analysis.CONTEXTS) {
              kept.add((JsonNode) m.readTree(p));
            } else {
              p.skipChildren();
            }
          }
        } else {
          root.set(name, m.readTree(p));
        }
      }
      return root;
    }
  }

  private static Path put(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }
}
