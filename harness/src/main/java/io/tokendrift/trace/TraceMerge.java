package io.tokendrift.trace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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

  /**
   * Merges {@code inputs} into {@code out} (refused if it exists, unless {@code force}). Shard
   * traces of one run ("I/N", each I once) are joined in shard order whatever the order given (a
   * shell's {@code shard-*.jsonl} puts 10 before 2), as {@code combine} counts them; other traces
   * in the order given.
   */
  public static Result merge(List<Path> given, Path out, boolean force) {
    if (given.isEmpty()) {
      throw new IllegalArgumentException("merge needs at least one trace");
    }
    List<Path> inputs = inShardOrder(given);
    TraceHeader first;
    try (TraceReader r = TraceReader.open(inputs.get(0))) {
      first = r.header();
    }
    for (Path p : inputs) {
      if (p.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
        throw new IllegalArgumentException(out + ": the output must not be one of the inputs");
      }
      // Every input is read (and its spec checked) before anything is written.
      try (TraceReader r = TraceReader.open(p)) {
        sameSpec(p, r.header(), inputs.get(0), first);
      }
    }
    if (Files.exists(out) && !force) {
      throw new IllegalArgumentException(
          out + ": a trace is already there; --force replaces it (once the merge has succeeded)");
    }
    TraceHeader merged = first.withShard("all");
    // Runs completed in some input: their failed records (retried by --resume) are dropped.
    Set<String> completed = new HashSet<>();
    for (Path p : inputs) {
      try (TraceReader r = TraceReader.open(p)) {
        r.decodeStepsOnly(n -> false);
        while (r.hasNext()) {
          RunRecord rec = r.next();
          if (rec.status() != RunRecord.Status.FAILED) {
            completed.add(rec.id());
          }
        }
      }
    }
    Set<String> seen = new HashSet<>();
    List<String> dups = new ArrayList<>();
    List<String> truncated = new ArrayList<>();
    // Written beside the output and renamed over it only when complete: a failed merge leaves the
    // old output (or none), never a plausible partial trace.
    // The output's lock is held until the merged file is in place; the temporary file is this
    // process's own (its name holds the pid), so a refused second merge cannot delete it.
    TraceLock outLock = TraceLock.acquire(out);
    Path tmp = out.resolveSibling(out.getFileName() + ".merging-" + ProcessHandle.current().pid());
    try (outLock;
        TraceWriter w = TraceWriter.create(tmp, merged, true, TraceLock.acquire(tmp))) {
      for (Path p : inputs) {
        try (TraceReader r = TraceReader.open(p)) {
          while (r.hasNext()) {
            RunRecord rec = r.next();
            if (rec.status() == RunRecord.Status.FAILED && completed.contains(rec.id())) {
              continue;
            }
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
    } catch (RuntimeException e) {
      deleteQuietly(tmp);
      throw e;
    }
    try {
      Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException(out + ": cannot write the merged trace: " + e.getMessage(), e);
    }
    return new Result(seen.size(), dups, first.gridSize(), truncated);
  }

  /** The inputs by shard index when every one is a distinct shard "I/N" of one N; else as given. */
  static List<Path> inShardOrder(List<Path> inputs) {
    java.util.TreeMap<Integer, Path> byIndex = new java.util.TreeMap<>();
    String count = null;
    for (Path p : inputs) {
      String shard;
      try (TraceReader r = TraceReader.open(p)) {
        shard = r.header().shard();
      }
      int slash = shard.indexOf('/');
      if (slash <= 0 || (count != null && !count.equals(shard.substring(slash + 1)))) {
        return inputs;
      }
      count = shard.substring(slash + 1);
      try {
        if (byIndex.put(Integer.parseInt(shard.substring(0, slash)), p) != null) {
          return inputs;
        }
      } catch (NumberFormatException e) {
        return inputs;
      }
    }
    return List.copyOf(byIndex.values());
  }

  private static void sameSpec(Path p, TraceHeader h, Path firstPath, TraceHeader first) {
    if (!h.specSha256().equals(first.specSha256())) {
      throw new IllegalArgumentException(
          p
              + ": recorded by a different spec than "
              + firstPath
              + " (spec_sha256 "
              + h.specSha256().substring(0, 12)
              + " vs "
              + first.specSha256().substring(0, 12)
              + "); only shards of one experiment can be merged");
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // the original failure is what the user needs to see
    }
  }
}
