package io.tokendrift.analysis;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceLock;
import io.tokendrift.trace.TraceReader;
import io.tokendrift.trace.TraceWriter;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
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
 * same rules as one pass over the merged trace — the same analysis, every quantity exact (floors
 * and bootstraps included: the per-step drift travels whole).
 */
public final class Partial {
  static final String FORMAT = "tokendrift.partial/1";

  /** A reference file a partial was computed against: its shard and the SHA-256 of its bytes. */
  record Source(String shard, String sha256) {}

  /** A partial file's first value. */
  record Head(
      String format, String shard, String specSha256, String trace, List<Source> references) {}

  /** A partial file's last value: how many records it holds, and its trace's cut-off record. */
  record End(long runs, List<String> torn) {}

  /** Every value after the head: a run's contribution, or the end. */
  record Item(Contribution run, End end) {}

  /**
   * What a partial holds.
   *
   * @param runs run records written (every record of the shard's trace)
   * @param torn the trace's cut-off last record ("file:line"), if any
   */
  public record Written(long runs, List<String> torn) {}

  static final ObjectMapper CBOR = cbor();

  private Partial() {}

  /**
   * Records as arrays (no field names per run), floats and doubles as their exact bits, strings as
   * UTF-8 text or, when they hold a lone surrogate (a provider's text may), as their UTF-16 units.
   */
  private static ObjectMapper cbor() {
    ObjectMapper m = new ObjectMapper(new CBORFactory());
    var strings = new com.fasterxml.jackson.databind.module.SimpleModule("strings");
    strings.addSerializer(String.class, new Utf16.Writer());
    strings.addDeserializer(String.class, new Utf16.Reader());
    m.registerModule(strings);
    for (Class<?> c :
        List.of(
            Head.class,
            Source.class,
            End.class,
            Item.class,
            Contribution.class,
            Analyzer.RunResult.class,
            Comparison.class,
            EnvSummary.Seen.class,
            GroupSummary.Seen.class,
            Truth.Seen.class,
            Truth.ReferenceCheck.class,
            Truth.AtDivergence.class,
            ProviderSummary.Seen.class)) {
      m.configOverride(c).setFormat(JsonFormat.Value.forShape(JsonFormat.Shape.ARRAY));
    }
    return m;
  }

  /**
   * Writes the runs of {@code trace} that may be anyone's reference to {@code out}, a trace with
   * the same header (refused if it exists, unless {@code force}); returns how many.
   */
  public static long extract(Path trace, Path out, boolean force) {
    TraceHeader h;
    try (TraceReader r = TraceReader.open(trace)) {
      h = r.header();
    }
    if (sameFile(trace, out)) {
      throw new IllegalArgumentException(out + ": the extract must not replace its trace");
    }
    if (Files.exists(out) && !force) {
      throw new IllegalArgumentException(
          out + ": a file is already there; --force replaces it (once the extract has succeeded)");
    }
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
    } catch (RuntimeException e) {
      deleteQuietly(tmp);
      throw e;
    }
    move(tmp, out);
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
    Shards refs = Shards.of(references);
    if (!h.specSha256().equals(refs.header.specSha256())) {
      throw new IllegalArgumentException(
          trace + ": recorded by a different spec than the references " + refs.files);
    }
    Path own = refs.file(h.shard(), trace);
    if (sameFile(trace, out) || references.stream().anyMatch(p -> sameFile(p, out))) {
      throw new IllegalArgumentException(out + ": the partial must not replace an input");
    }
    if (Files.exists(out) && !force) {
      throw new IllegalArgumentException(
          out + ": a file is already there; --force replaces it (once the partial is written)");
    }
    List<String> ownCandidates = candidates(own, h);
    ReferenceSet set = ReferenceSet.read(refs.files, inMemory);
    Tally tally = new Tally(set, set.header, inMemory);
    var candidate = ReferenceSet.isCandidate(h);
    List<String> torn = new ArrayList<>();
    long runs = 0;
    int matched = 0;
    Path tmp = out.resolveSibling(out.getFileName() + ".writing-" + ProcessHandle.current().pid());
    try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
        var g = CBOR.getFactory().createGenerator(os);
        TraceReader r = TraceReader.open(trace)) {
      CBOR.writeValue(
          g, new Head(FORMAT, h.shard(), h.specSha256(), trace.toString(), refs.sources));
      boolean[] isCandidate = {false};
      r.decodeStepsOnly(
          x -> {
            isCandidate[0] = candidate.test(x);
            return true;
          });
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (isCandidate[0]) {
          if (matched >= ownCandidates.size() || !ownCandidates.get(matched).equals(rec.id())) {
            throw stale(own, trace, rec.id());
          }
          matched++;
        }
        CBOR.writeValue(g, new Item(tally.contribute(rec), null));
        runs++;
      }
      if (matched != ownCandidates.size()) {
        throw stale(own, trace, ownCandidates.get(matched));
      }
      if (r.truncatedTail() != null) {
        torn.add(trace + ":" + r.truncatedTail().line());
      }
      CBOR.writeValue(g, new Item(null, new End(runs, torn)));
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException(out + ": cannot write the partial: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      deleteQuietly(tmp);
      throw e;
    }
    move(tmp, out);
    return new Written(runs, List.copyOf(torn));
  }

  private static IllegalArgumentException stale(Path own, Path trace, String id) {
    return new IllegalArgumentException(
        own
            + " does not hold the reference candidates "
            + trace
            + " holds now (run "
            + id
            + " differs; was the shard resumed after the extract?): extract again with analyze "
            + trace
            + " --references-out FILE");
  }

  /** The ids of the runs in {@code file} that may be references, in its order. */
  private static List<String> candidates(Path file, TraceHeader h) {
    var candidate = ReferenceSet.isCandidate(h);
    List<String> ids = new ArrayList<>();
    try (TraceReader r = TraceReader.open(file)) {
      boolean[] take = {false};
      r.decodeStepsOnly(
          x -> {
            take[0] = candidate.test(x);
            return false;
          });
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (take[0]) {
          ids.add(rec.id());
        }
      }
    }
    return ids;
  }

  /**
   * The analysis of the whole experiment from its shards' partials (one per shard, any order) and
   * the references they were computed against: what analysing the merged trace gives.
   */
  public static Analysis combine(List<Path> partials, List<Path> references, Analyzer.Options o) {
    return combine(partials, references, o, Analyzer.spillInHeap());
  }

  static Analysis combine(
      List<Path> partials, List<Path> references, Analyzer.Options o, int inMemory) {
    if (partials.isEmpty()) {
      throw new IllegalArgumentException("combine needs at least one partial");
    }
    Shards refs = Shards.of(references);
    Map<Integer, Path> byShard = new TreeMap<>();
    for (Path p : partials) {
      Head head;
      try (Reader r = Reader.open(p)) {
        head = r.head;
      }
      if (!head.references().equals(refs.sources)) {
        throw new IllegalArgumentException(
            p
                + ": computed against other references than "
                + refs.files
                + " (their shards and SHA-256 differ); give the files it was computed with");
      }
      int i = Shards.index(head.shard(), p);
      Path before = byShard.put(i, p);
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
    Set<String> completed = new HashSet<>();
    for (Path p : byShard.values()) {
      try (Reader r = Reader.open(p)) {
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
      try (Reader r = Reader.open(p)) {
        for (Contribution c = r.next(); c != null; c = r.next()) {
          if (Analyzer.counts(c.result().id(), c.result().status(), completed, seen)) {
            tally.add(c);
          }
        }
        torn.addAll(r.end.torn());
      }
    }
    return tally.build(o, torn);
  }

  /** A partial file read value by value. */
  private static final class Reader implements AutoCloseable {
    final Path file;
    final InputStream in;
    final JsonParser p;
    final Head head;
    End end;
    long runs;

    private Reader(Path file) throws IOException {
      this.file = file;
      this.in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
      this.p = CBOR.getFactory().createParser(in);
      Head h = null;
      try {
        if (p.nextToken() == JsonToken.START_ARRAY) {
          h = CBOR.readValue(p, Head.class);
        }
      } catch (IOException | RuntimeException e) {
        h = null;
      }
      if (h == null || !FORMAT.equals(h.format())) {
        close();
        throw new IllegalArgumentException(
            file + ": not a partial analysis (" + FORMAT + "; written by analyze --partial)");
      }
      this.head = h;
    }

    static Reader open(Path file) {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(file + ": no such partial analysis");
      }
      try {
        return new Reader(file);
      } catch (IOException e) {
        throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
      }
    }

    /** The next run's contribution, or null at the end (checked complete). */
    Contribution next() {
      if (end != null) {
        return null;
      }
      Item item;
      try {
        if (p.nextToken() == null) {
          throw new IllegalArgumentException(
              file + ": cut off after " + runs + " runs (the partial was not finished)");
        }
        item = CBOR.readValue(p, Item.class);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            file + ": corrupt partial after " + runs + " runs: " + e.getMessage(), e);
      }
      if (item.end() != null) {
        end = item.end();
        if (end.runs() != runs) {
          throw new IllegalArgumentException(
              file + ": says " + end.runs() + " runs but holds " + runs);
        }
        return null;
      }
      runs++;
      return item.run();
    }

    @Override
    public void close() {
      try {
        p.close();
        in.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Reference files of every shard of one experiment, in shard order. */
  private static final class Shards {
    final List<Path> files;
    final List<Source> sources;
    final TraceHeader header;

    private Shards(List<Path> files, List<Source> sources, TraceHeader header) {
      this.files = files;
      this.sources = sources;
      this.header = header;
    }

    static Shards of(List<Path> references) {
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
        int n = Integer.parseInt(h.shard().substring(h.shard().indexOf('/') + 1));
        if (count >= 0 && n != count) {
          throw new IllegalArgumentException(
              p + ": shard " + h.shard() + " of " + n + ", the others of " + count);
        }
        count = n;
        TraceHeader first = headers.isEmpty() ? null : headers.values().iterator().next();
        if (first != null && !first.specSha256().equals(h.specSha256())) {
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
      List<Source> sources = new ArrayList<>();
      byIndex.forEach((i, p) -> sources.add(new Source(headers.get(i).shard(), sha256(p))));
      return new Shards(List.copyOf(byIndex.values()), sources, headers.get(0));
    }

    /** The reference file of shard {@code shard}, which {@code trace} is. */
    Path file(String shard, Path trace) {
      int i = index(shard, trace);
      if (i >= files.size()) {
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
              + "'; analysis by shards takes traces recorded with run --shard I/N (for one trace,"
              + " analyze it whole)");
    }
  }

  /** Strings that UTF-8 cannot carry (a lone surrogate) as CBOR bytes: their UTF-16 units. */
  private static final class Utf16 {
    private Utf16() {}

    static final class Writer extends com.fasterxml.jackson.databind.ser.std.StdSerializer<String> {
      Writer() {
        super(String.class);
      }

      @Override
      public void serialize(
          String s,
          com.fasterxml.jackson.core.JsonGenerator g,
          com.fasterxml.jackson.databind.SerializerProvider p)
          throws IOException {
        if (wellFormed(s)) {
          g.writeString(s);
          return;
        }
        byte[] b = new byte[2 * s.length()];
        for (int i = 0; i < s.length(); i++) {
          b[2 * i] = (byte) (s.charAt(i) >> 8);
          b[2 * i + 1] = (byte) s.charAt(i);
        }
        g.writeBinary(b);
      }
    }

    static final class Reader
        extends com.fasterxml.jackson.databind.deser.std.StdDeserializer<String> {
      Reader() {
        super(String.class);
      }

      @Override
      public String deserialize(
          JsonParser p, com.fasterxml.jackson.databind.DeserializationContext ctx)
          throws IOException {
        if (p.currentToken() == JsonToken.VALUE_STRING) {
          return p.getText();
        }
        if (p.currentToken() != JsonToken.VALUE_EMBEDDED_OBJECT) {
          return (String) ctx.handleUnexpectedToken(String.class, p);
        }
        byte[] b = p.getBinaryValue();
        char[] c = new char[b.length / 2];
        for (int i = 0; i < c.length; i++) {
          c[i] = (char) (((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff));
        }
        return new String(c);
      }
    }

    static boolean wellFormed(String s) {
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)
            && i + 1 < s.length()
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else if (Character.isSurrogate(c)) {
          return false;
        }
      }
      return true;
    }
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

  private static boolean sameFile(Path a, Path b) {
    return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
  }

  private static void move(Path tmp, Path out) {
    try {
      Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      deleteQuietly(tmp);
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
