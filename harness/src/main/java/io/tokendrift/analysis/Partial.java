package io.tokendrift.analysis;

import io.tokendrift.analysis.PartialFormat.End;
import io.tokendrift.analysis.PartialFormat.Head;
import io.tokendrift.analysis.PartialFormat.Item;
import io.tokendrift.trace.RecordBytes;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceLock;
import io.tokendrift.trace.TraceReader;
import io.tokendrift.trace.TraceWriter;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Analysis by shards. A run is compared with references that other shards recorded ({@code --shard}
 * deals whole batches round-robin: batch composition is a measured condition), so it goes in three
 * steps: each shard's {@linkplain #extract reference extract} (the runs that may be anyone's
 * reference, a small trace); each shard's {@linkplain #write partial}, every run of its trace
 * compared with the references of all shards ({@link Contribution}s, nothing counted yet); and the
 * {@linkplain #combine combine}, which counts the partials' contributions in shard order with the
 * rules of one pass over the merged trace — the same analysis, every quantity exact (floors and
 * bootstraps included: the per-step drift travels whole).
 */
public final class Partial {
  /**
   * What a partial holds.
   *
   * @param runs run records written (every record of the shard's trace)
   * @param torn the trace's cut-off last record ("file:line"), if any
   */
  public record Written(long runs, List<String> torn) {}

  /**
   * A combine's outcome.
   *
   * @param analysis the merged trace's analysis
   * @param torn the shards' cut-off records ("file:line"): missing runs, as merge drops them
   */
  public record Combined(Analysis analysis, List<String> torn) {}

  private Partial() {}

  /**
   * Writes the runs of {@code trace} that may be anyone's reference to {@code out}, a trace with
   * the same header (refused if it exists, unless {@code force}); returns how many.
   */
  public static long extract(Path trace, Path out, boolean force) {
    TraceHeader h;
    try (TraceReader r = TraceReader.open(trace)) {
      h = r.header();
    }
    ShardSet.index(h.shard(), trace);
    if (sameFile(trace, out)) {
      throw new IllegalArgumentException(out + ": the extract must not replace its trace");
    }
    refuseExisting(out, force, "the extract has succeeded");
    var candidate = ReferenceSet.isCandidate(h);
    long n = 0;
    TraceLock outLock = TraceLock.acquire(out);
    Path tmp =
        out.resolveSibling(out.getFileName() + ".extracting-" + ProcessHandle.current().pid());
    try (outLock;
        TraceWriter w = TraceWriter.create(tmp, h, true, TraceLock.acquire(tmp)).withoutSync();
        TraceReader r = TraceReader.open(trace)) {
      // Only the candidates' steps are decoded; the others are not written.
      boolean[] take = {false};
      r.decodeStepsOnly(x -> take[0] = candidate.test(x));
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (take[0]) {
          w.write(rec);
          n++;
        }
      }
      w.close();
      move(tmp, out);
    } catch (RuntimeException e) {
      deleteQuietly(tmp);
      throw e;
    }
    return n;
  }

  /**
   * Compares every run of {@code trace} (one shard's) with the references in {@code references}
   * (every shard's extract, or the shard traces themselves, in any order) and writes the partial to
   * {@code out} (refused if it exists, unless {@code force}).
   */
  public static Written write(Path trace, List<Path> references, Path out, boolean force) {
    return write(trace, references, out, force, Analyzer.spillInHeap());
  }

  static Written write(Path trace, List<Path> references, Path out, boolean force, int inMemory) {
    TraceHeader h;
    try (TraceReader r = TraceReader.open(trace)) {
      h = r.header();
    }
    ShardSet.index(h.shard(), trace);
    ShardSet refs = ShardSet.of(references);
    if (!h.specSha256().equals(refs.header.specSha256())) {
      throw new IllegalArgumentException(
          trace + ": recorded by a different spec than the references " + refs.files);
    }
    Path own = refs.file(h.shard(), trace);
    if (sameFile(trace, out) || references.stream().anyMatch(p -> sameFile(p, out))) {
      throw new IllegalArgumentException(out + ": the partial must not replace an input");
    }
    refuseExisting(out, force, "the partial is written");
    List<Fingerprint> ownCandidates = candidates(own, h);
    ReferenceSet set = ReferenceSet.read(refs.files, inMemory);
    Tally tally = new Tally(set, set.header, inMemory);
    var candidate = ReferenceSet.isCandidate(h);
    List<String> torn = new ArrayList<>();
    long runs = 0;
    int matched = 0;
    TraceLock outLock = TraceLock.acquire(out);
    Path tmp = out.resolveSibling(out.getFileName() + ".writing-" + ProcessHandle.current().pid());
    try (outLock) {
      try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
          var g = PartialFormat.CBOR.getFactory().createGenerator(os);
          TraceReader r = TraceReader.open(trace)) {
        PartialFormat.CBOR.writeValue(
            g,
            new Head(
                PartialFormat.FORMAT,
                PartialFormat.SCHEMA,
                h.shard(),
                h.specSha256(),
                trace.toString(),
                refs.sources));
        boolean[] isCandidate = {false};
        r.decodeStepsOnly(
            x -> {
              isCandidate[0] = candidate.test(x);
              return true;
            });
        while (r.hasNext()) {
          RunRecord rec = r.next();
          if (isCandidate[0]) {
            if (matched >= ownCandidates.size()
                || !ownCandidates.get(matched).equals(Fingerprint.of(rec))) {
              throw stale(own, trace, rec.id());
            }
            matched++;
          }
          PartialFormat.CBOR.writeValue(g, new Item(tally.contribute(rec), null));
          runs++;
        }
        if (matched != ownCandidates.size()) {
          throw stale(own, trace, ownCandidates.get(matched).id());
        }
        if (r.truncatedTail() != null) {
          torn.add(trace + ":" + r.truncatedTail().line());
        }
        PartialFormat.CBOR.writeValue(g, new Item(null, new End(runs, torn)));
      }
      move(tmp, out);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException(out + ": cannot write the partial: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      deleteQuietly(tmp);
      throw e;
    }
    return new Written(runs, List.copyOf(torn));
  }

  private static IllegalArgumentException stale(Path own, Path trace, String id) {
    return new IllegalArgumentException(
        own
            + " does not hold the reference candidates "
            + trace
            + " holds now (run "
            + id
            + " differs; was the shard resumed or recorded again after the extract?): extract"
            + " again with analyze "
            + trace
            + " --references-out FILE");
  }

  /** A reference candidate as recorded: its id and a checksum of its whole record. */
  private record Fingerprint(String id, long crc, int length) {
    static Fingerprint of(RunRecord rec) {
      byte[] b = RecordBytes.encode(rec);
      var c = new java.util.zip.CRC32C();
      c.update(b);
      return new Fingerprint(rec.id(), c.getValue(), b.length);
    }
  }

  /** The runs in {@code file} that may be references, in its order. */
  private static List<Fingerprint> candidates(Path file, TraceHeader h) {
    var candidate = ReferenceSet.isCandidate(h);
    List<Fingerprint> out = new ArrayList<>();
    try (TraceReader r = TraceReader.open(file)) {
      boolean[] take = {false};
      r.decodeStepsOnly(x -> take[0] = candidate.test(x));
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (take[0]) {
          out.add(Fingerprint.of(rec));
        }
      }
    }
    return out;
  }

  /**
   * The analysis of the whole experiment from its shards' partials (one per shard, any order) and
   * the references they were computed against: what merging the shard traces and analysing the
   * merged trace gives.
   */
  public static Combined combine(List<Path> partials, List<Path> references, Analyzer.Options o) {
    return combine(partials, references, o, Analyzer.spillInHeap());
  }

  static Combined combine(
      List<Path> partials, List<Path> references, Analyzer.Options o, int inMemory) {
    if (partials.isEmpty()) {
      throw new IllegalArgumentException("combine needs at least one partial");
    }
    ShardSet refs = ShardSet.of(references);
    Map<Integer, Path> byShard = new TreeMap<>();
    for (Path p : partials) {
      Head head;
      try (PartialFormat.Reader r = PartialFormat.Reader.open(p)) {
        head = r.head;
      }
      if (!refs.sources.equals(head.references())) {
        throw new IllegalArgumentException(
            p
                + ": computed against other references than "
                + refs.files
                + " (their shards or SHA-256 differ); give the files it was computed with");
      }
      Path before = byShard.put(ShardSet.index(head.shard(), p), p);
      if (before != null) {
        throw new IllegalArgumentException(
            p + ": shard " + head.shard() + " again (also " + before + ")");
      }
    }
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < refs.files.size(); i++) {
      if (!byShard.containsKey(i)) {
        missing.add(i + "/" + refs.files.size());
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "no partial for shard " + String.join(", ", missing) + " among " + partials);
    }
    ReferenceSet set = ReferenceSet.read(refs.files, inMemory);
    // The merged trace's header: every shard.
    Tally tally = new Tally(set, set.header.withShard("all"), inMemory);
    // Runs completed in some partial: a failed record of theirs was run again (as merge rules).
    Set<String> completed = new HashSet<>();
    for (Path p : byShard.values()) {
      try (PartialFormat.Reader r = PartialFormat.Reader.open(p)) {
        for (Contribution c = r.next(); c != null; c = r.next()) {
          if (c.result().status() != RunRecord.Status.FAILED) {
            completed.add(c.result().id());
          }
        }
      }
    }
    Set<String> seen = new HashSet<>();
    List<String> torn = new ArrayList<>();
    for (Path p : byShard.values()) {
      try (PartialFormat.Reader r = PartialFormat.Reader.open(p)) {
        for (Contribution c = r.next(); c != null; c = r.next()) {
          if (Analyzer.counts(c.result().id(), c.result().status(), completed, seen)) {
            try {
              tally.add(c);
            } catch (RuntimeException e) {
              throw new IllegalArgumentException(
                  p + ": run " + c.result().id() + ": " + e.getMessage(), e);
            }
          }
        }
        torn.addAll(r.end.torn());
      }
    }
    // Cut-off records are missing runs, as in the merged trace (merge drops them).
    return new Combined(tally.build(o, List.of()), List.copyOf(torn));
  }

  private static void refuseExisting(Path out, boolean force, String until) {
    if (Files.exists(out) && !force) {
      throw new IllegalArgumentException(
          out + ": a file is already there; --force replaces it (once " + until + ")");
    }
  }

  private static boolean sameFile(Path a, Path b) {
    return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
  }

  private static void move(Path tmp, Path out) {
    try {
      Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(out + ": cannot write: " + e.getMessage(), e);
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
