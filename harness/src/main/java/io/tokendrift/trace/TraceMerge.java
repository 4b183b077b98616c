package io.tokendrift.trace;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Joins shard traces of one experiment into one trace, reporting duplicate and missing runs. */
public final class TraceMerge {
  /**
   * What the merge found.
   *
   * @param runs distinct runs written
   * @param duplicates ids seen more than once (the first copy is kept)
   * @param gridSize runs the experiment's grid holds
   * @param truncated inputs whose last record was cut off (that run is missing)
   */
  public record Result(int runs, List<String> duplicates, long gridSize, List<String> truncated) {
    public long missing() {
      return gridSize - runs;
    }
  }

  private TraceMerge() {}

  /** Merges {@code inputs} into {@code out} (refused if it exists, unless {@code force}). */
  public static Result merge(List<Path> inputs, Path out, boolean force) {
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("merge needs at least one trace");
    }
    TraceHeader first;
    try (TraceReader r = TraceReader.open(inputs.get(0))) {
      first = r.header();
    }
    for (Path p : inputs) {
      if (p.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
        throw new IllegalArgumentException(out + ": the output must not be one of the inputs");
      }
    }
    TraceHeader merged =
        new TraceHeader(
            first.experiment(),
            first.specSha256(),
            first.gridSize(),
            first.reference(),
            first.decoding(),
            first.recording(),
            "all",
            first.manifest());
    Set<String> seen = new HashSet<>();
    List<String> dups = new ArrayList<>();
    List<String> truncated = new ArrayList<>();
    try (TraceWriter w = TraceWriter.create(out, merged, force)) {
      for (Path p : inputs) {
        try (TraceReader r = TraceReader.open(p)) {
          TraceHeader h = r.header();
          if (!h.specSha256().equals(first.specSha256())) {
            throw new IllegalArgumentException(
                p
                    + ": recorded by a different spec than "
                    + inputs.get(0)
                    + " (spec_sha256 "
                    + h.specSha256().substring(0, 12)
                    + " vs "
                    + first.specSha256().substring(0, 12)
                    + "); only shards of one experiment can be merged");
          }
          while (r.hasNext()) {
            RunRecord rec = r.next();
            if (seen.add(rec.id())) {
              w.write(rec);
            } else {
              dups.add(rec.id());
            }
          }
          if (r.truncatedTail() != null) {
            truncated.add(p + ":" + r.truncatedTail().line());
          }
        }
      }
    }
    return new Result(seen.size(), dups, first.gridSize(), truncated);
  }
}
