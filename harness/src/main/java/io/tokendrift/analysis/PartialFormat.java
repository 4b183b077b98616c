package io.tokendrift.analysis;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A partial analysis file: CBOR values — a {@link Head}, one {@link Item} per run record of the
 * shard's trace (its {@link Contribution}), and an end item with the count. Records are written as
 * arrays (no field names per run), floats and doubles as their exact bits, strings as UTF-8 text
 * or, when they hold a lone surrogate (a provider's text may), as their UTF-16 units. The head
 * names the schema — the record classes' components, in order — so that a partial written by
 * another build is refused, not misread.
 */
final class PartialFormat {
  static final String FORMAT = "tokendrift.partial/1";

  /** A reference file a partial was computed against: its shard and the SHA-256 of its bytes. */
  record Source(String shard, String sha256) {}

  /** A partial file's first value. */
  record Head(
      String format,
      String schema,
      String shard,
      String specSha256,
      String trace,
      List<Source> references) {}

  /** A partial file's last value: how many records it holds, and its trace's cut-off record. */
  record End(long runs, List<String> torn) {}

  /** Every value after the head: a run's contribution, or the end. */
  record Item(Contribution run, End end) {}

  /** The classes whose components a partial writes, as arrays. */
  private static final List<Class<?>> RECORDS =
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
          ProviderSummary.Seen.class,
          io.tokendrift.trace.PointKey.class);

  static final ObjectMapper CBOR = mapper();

  /** The records' components, names and types in order: what a reader must agree on. */
  static final String SCHEMA = schema();

  private PartialFormat() {}

  private static ObjectMapper mapper() {
    ObjectMapper m = new ObjectMapper(new CBORFactory());
    var strings = new com.fasterxml.jackson.databind.module.SimpleModule("strings");
    strings.addSerializer(String.class, new Utf16Writer());
    strings.addDeserializer(String.class, new Utf16Reader());
    m.registerModule(strings);
    for (Class<?> c : RECORDS) {
      if (c != io.tokendrift.trace.PointKey.class) {
        m.configOverride(c).setFormat(JsonFormat.Value.forShape(JsonFormat.Shape.ARRAY));
      }
    }
    return m;
  }

  private static String schema() {
    StringBuilder b = new StringBuilder();
    for (Class<?> c : RECORDS) {
      b.append(c.getSimpleName()).append('(');
      for (var rc : c.getRecordComponents()) {
        b.append(rc.getName()).append(':').append(rc.getGenericType().getTypeName()).append(',');
      }
      b.append(')');
    }
    // Enums go by name: a renamed constant is another schema.
    for (Enum<?>[] e :
        List.<Enum<?>[]>of(
            io.tokendrift.trace.RunRecord.Status.values(),
            Analyzer.Verdict.values(),
            ProviderSummary.Against.values(),
            Truth.Side.values())) {
      b.append(java.util.Arrays.toString(e));
    }
    return Integer.toHexString(b.toString().hashCode()) + "-" + b.length();
  }

  private static final class Utf16Writer
      extends com.fasterxml.jackson.databind.ser.std.StdSerializer<String> {
    Utf16Writer() {
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

  private static final class Utf16Reader
      extends com.fasterxml.jackson.databind.deser.std.StdDeserializer<String> {
    Utf16Reader() {
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

  /** A partial file read value by value; every fault names the file. */
  static final class Reader implements AutoCloseable {
    final Path file;
    private final InputStream in;
    private final JsonParser p;
    final Head head;
    End end;
    private long runs;

    private Reader(Path file, InputStream in, JsonParser p) {
      this.file = file;
      this.in = in;
      this.p = p;
      Head h = null;
      try {
        if (p.nextToken() == JsonToken.START_ARRAY) {
          h = CBOR.readValue(p, Head.class);
        }
      } catch (IOException | RuntimeException e) {
        h = null; // not this format: said below
      }
      if (h == null || !FORMAT.equals(h.format())) {
        close();
        throw new IllegalArgumentException(
            file + ": not a partial analysis (" + FORMAT + ", written by analyze --partial)");
      }
      if (!SCHEMA.equals(h.schema())) {
        close();
        throw new IllegalArgumentException(
            file
                + ": a partial of another tokendrift build (schema "
                + h.schema()
                + ", this one reads "
                + SCHEMA
                + "); write the partials and combine them with one build");
      }
      this.head = h;
    }

    static Reader open(Path file) {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(file + ": no such partial analysis");
      }
      InputStream in = null;
      try {
        in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        return new Reader(file, in, CBOR.getFactory().createParser(in));
      } catch (IOException e) {
        if (in != null) {
          try {
            in.close();
          } catch (IOException ignored) {
            // the read's failure is the one to report
          }
        }
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
      } catch (IOException | RuntimeException e) {
        if (e instanceof IllegalArgumentException i && i.getMessage().startsWith(file + ":")) {
          throw i;
        }
        throw new IllegalArgumentException(
            file + ": corrupt partial after " + runs + " runs: " + e.getMessage(), e);
      }
      if (item == null || (item.run() == null) == (item.end() == null)) {
        throw new IllegalArgumentException(
            file + ": corrupt partial after " + runs + " runs: an item is a run or the end");
      }
      if (item.end() != null) {
        end = item.end();
        if (end.runs() != runs || end.torn() == null) {
          throw new IllegalArgumentException(
              file + ": corrupt partial: its end says " + end.runs() + " runs, it holds " + runs);
        }
        try {
          if (p.nextToken() != null) {
            throw new IllegalArgumentException(file + ": data after the partial's end");
          }
        } catch (IOException e) {
          throw new IllegalArgumentException(file + ": data after the partial's end", e);
        }
        return null;
      }
      Contribution c = item.run();
      if (c.result() == null || c.result().id() == null || c.groups() == null) {
        throw new IllegalArgumentException(
            file + ": corrupt partial: run " + (runs + 1) + " has no result or groups");
      }
      runs++;
      return c;
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
}
