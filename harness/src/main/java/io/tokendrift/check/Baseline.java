package io.tokendrift.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceFormatException;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A golden recording in {@code ci/baselines/NAME/}: {@code trace.jsonl} (every run, every step) and
 * {@code manifest.json} (the environment it was recorded in, readable in a diff).
 *
 * @param dir the folder
 * @param header the trace's header
 * @param runs its ok runs by id
 */
public record Baseline(Path dir, TraceHeader header, Map<String, RunRecord> runs) {
  public static final String TRACE = "trace.jsonl";
  public static final String MANIFEST = "manifest.json";

  /** Reads and checks a baseline; anything wrong is a {@link BadBaselineException}. */
  public static Baseline open(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new BadBaselineException(
          dir
              + ": no baseline folder here (record one with"
              + " `tokendrift baseline record SPEC --out "
              + dir
              + "`)");
    }
    Path trace = dir.resolve(TRACE);
    if (!Files.isRegularFile(trace)) {
      throw new BadBaselineException(dir + ": malformed baseline: " + TRACE + " is missing");
    }
    Map<String, RunRecord> runs = new LinkedHashMap<>();
    TraceHeader header;
    try (TraceReader r = TraceReader.open(trace)) {
      header = r.header();
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (rec.status() == RunRecord.Status.OK) {
          runs.put(rec.id(), rec);
        }
      }
      if (r.truncatedTail() != null) {
        throw new BadBaselineException(
            trace
                + ":"
                + r.truncatedTail().line()
                + ": malformed baseline: the last record is cut"
                + " off; record the baseline again");
      }
    } catch (TraceFormatException e) {
      throw new BadBaselineException("malformed baseline: " + e.getMessage(), e);
    }
    if (runs.isEmpty()) {
      throw new BadBaselineException(trace + ": malformed baseline: it holds no completed run");
    }
    checkManifest(dir.resolve(MANIFEST), header);
    return new Baseline(dir, header, runs);
  }

  /** manifest.json must exist, parse, and describe the same trace (its spec hash). */
  private static void checkManifest(Path file, TraceHeader header) {
    if (!Files.isRegularFile(file)) {
      throw new BadBaselineException(
          file.getParent() + ": malformed baseline: " + MANIFEST + " is missing (record it again)");
    }
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(Files.readString(file));
    } catch (IOException e) {
      throw new BadBaselineException(
          file
              + ": malformed baseline: not readable JSON ("
              + e.getMessage().lines().findFirst().orElse("")
              + ")");
    }
    if (n == null || !n.isObject() || !header.specSha256().equals(n.path("spec_sha256").asText())) {
      throw new BadBaselineException(
          file
              + ": malformed baseline: its spec_sha256 does not match "
              + TRACE
              + "'s header (record the baseline again)");
    }
  }

  public Path trace() {
    return dir.resolve(TRACE);
  }

  /** Writes manifest.json beside the trace: the header's facts, sorted, one per line. */
  public static void writeManifest(Path dir, TraceHeader h) {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode n = m.createObjectNode();
    n.put("experiment", h.experiment());
    n.put("spec_sha256", h.specSha256());
    n.put("grid_size", h.gridSize());
    n.put("reference", h.reference());
    ObjectNode man = n.putObject("manifest");
    new TreeMap<>(h.manifest()).forEach(man::put);
    try {
      // Whole or not at all: a temporary file renamed into place.
      Path tmp = dir.resolve(MANIFEST + ".tmp");
      Files.writeString(tmp, m.writeValueAsString(n) + "\n");
      Files.move(
          tmp,
          dir.resolve(MANIFEST),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
