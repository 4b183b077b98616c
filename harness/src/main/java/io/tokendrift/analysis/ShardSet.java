package io.tokendrift.analysis;

import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** One file per shard of one experiment (reference extracts or shard traces), in shard order. */
final class ShardSet {
  final List<Path> files;
  final List<PartialFormat.Source> sources;
  final TraceHeader header; // shard 0's

  private ShardSet(List<Path> files, List<PartialFormat.Source> sources, TraceHeader header) {
    this.files = files;
    this.sources = sources;
    this.header = header;
  }

  /** Every shard's file, in any order; refused unless each shard 0..N-1 has exactly one. */
  static ShardSet of(List<Path> references) {
    if (references.isEmpty()) {
      throw new IllegalArgumentException(
          "--references: give every shard's reference extract (analyze SHARD --references-out)");
    }
    Map<Integer, Path> byIndex = new TreeMap<>();
    Map<Integer, TraceHeader> headers = new TreeMap<>();
    int count = -1;
    for (Path p : references) {
      TraceHeader h;
      try (TraceReader r = TraceReader.open(p)) {
        h = r.header();
      }
      int i = index(h.shard(), p);
      int n = count(h.shard());
      if (count >= 0 && n != count) {
        throw new IllegalArgumentException(
            p + ": shard " + h.shard() + " of " + n + " shards, the others of " + count);
      }
      count = n;
      if (!headers.isEmpty()
          && !headers.values().iterator().next().specSha256().equals(h.specSha256())) {
        throw new IllegalArgumentException(
            p + ": recorded by a different spec than " + byIndex.values().iterator().next());
      }
      Path before = byIndex.put(i, p);
      if (before != null) {
        throw new IllegalArgumentException(
            p + ": references of shard " + h.shard() + " again (also " + before + ")");
      }
      headers.put(i, h);
    }
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      if (!byIndex.containsKey(i)) {
        missing.add(i + "/" + count);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "--references: none for shard "
              + String.join(", ", missing)
              + " (every shard's runs may be others' references)");
    }
    List<PartialFormat.Source> sources = new ArrayList<>();
    byIndex.forEach(
        (i, p) -> sources.add(new PartialFormat.Source(headers.get(i).shard(), sha256(p))));
    return new ShardSet(List.copyOf(byIndex.values()), sources, headers.get(0));
  }

  /** The file of shard {@code shard}, which {@code trace} is. */
  Path file(String shard, Path trace) {
    int i = index(shard, trace);
    if (count(shard) != files.size()) {
      throw new IllegalArgumentException(
          trace + ": shard " + shard + ", but the references are of " + files.size() + " shards");
    }
    return files.get(i);
  }

  /** The index of a shard label "I/N"; anything else is refused, naming {@code file}. */
  static int index(String shard, Path file) {
    int slash = shard.indexOf('/');
    try {
      if (slash > 0) {
        int i = Integer.parseInt(shard.substring(0, slash));
        int n = Integer.parseInt(shard.substring(slash + 1));
        if (i >= 0 && i < n) {
          return i;
        }
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new IllegalArgumentException(
        file
            + ": holds shard '"
            + shard
            + "'; analysis by shards takes traces recorded with run --shard I/N (one whole trace:"
            + " analyze it)");
  }

  /** N of a label "I/N" that {@link #index} accepted. */
  private static int count(String shard) {
    return Integer.parseInt(shard.substring(shard.indexOf('/') + 1));
  }

  private static String sha256(Path p) {
    try (InputStream in = Files.newInputStream(p)) {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n = in.read(buf); n > 0; n = in.read(buf)) {
        d.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (IOException e) {
      throw new UncheckedIOException(p + ": cannot read: " + e.getMessage(), e);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
