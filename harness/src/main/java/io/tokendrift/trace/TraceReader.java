package io.tokendrift.trace;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Streams a trace: the header, then one run at a time, so memory does not grow with the trace.
 *
 * <p>A last line without its newline is a record cut off by a crash: it is reported through {@link
 * #truncatedTail()}, not returned. A line that ends properly but does not parse is corruption and
 * an error naming its line.
 */
public final class TraceReader implements AutoCloseable, Iterator<RunRecord> {
  /**
   * A record cut off at the end of the file.
   *
   * @param line its line number (1-based)
   * @param offset where it starts: the file's valid length
   * @param bytes how many bytes of it were written
   */
  public record Truncation(long line, long offset, long bytes) {}

  private final Path file;
  private final InputStream in;
  private final TraceHeader header;
  private long line;
  private long offset; // bytes consumed through the last complete line
  private RunRecord next;
  private java.util.function.Predicate<JsonNode> decodeSteps = n -> true;
  private Truncation truncated;
  private boolean done;

  private TraceReader(Path file) throws IOException {
    this.file = file;
    this.in = Files.newInputStream(file);
    byte[] first = readLine();
    if (first == null) {
      in.close();
      throw new TraceFormatException(
          file
              + ": "
              + (truncated == null
                  ? "empty file; a trace starts with a header line"
                  : "the header line is incomplete (" + truncated.bytes() + " bytes, no newline)"));
    }
    JsonNode n;
    try {
      n = parse(first);
    } catch (TraceFormatException e) {
      in.close();
      throw notATrace(file, e);
    }
    if (!"header".equals(n.path("type").asText())) {
      in.close();
      throw notATrace(
          file, new TraceFormatException(file + ":1: the first line must be the trace header"));
    }
    header = TraceCodec.readHeader(n, file + ":1");
  }

  /** A spec or an analysis given for a trace is named as such, with what to do; else {@code e}. */
  private static TraceFormatException notATrace(Path file, TraceFormatException e) {
    FileKind k = FileKind.of(file);
    return k == FileKind.SPEC || k == FileKind.ANALYSIS
        ? new TraceFormatException(k.explain(file, "trace"), e)
        : e;
  }

  /** Opens a trace and reads its header. */
  public static TraceReader open(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new TraceFormatException(file + ": no such trace file");
    }
    try {
      return new TraceReader(file);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Decodes the per-step columns only of records {@code which} accepts (given the record's JSON): a
   * pass that needs steps for a few runs skips the cost for the rest. Others come back with empty
   * steps.
   */
  public TraceReader decodeStepsOnly(java.util.function.Predicate<JsonNode> which) {
    this.decodeSteps = which;
    return this;
  }

  public TraceHeader header() {
    return header;
  }

  public Path file() {
    return file;
  }

  @Override
  public boolean hasNext() {
    if (next == null && !done) {
      next = advance();
    }
    return next != null;
  }

  @Override
  public RunRecord next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    RunRecord r = next;
    next = null;
    return r;
  }

  /** The cut-off last record, once the stream has been read to its end; null when none. */
  public Truncation truncatedTail() {
    return truncated;
  }

  /** Bytes through the last complete line read so far. */
  public long validLength() {
    return offset;
  }

  private RunRecord advance() {
    try {
      byte[] l = readLine();
      if (l == null) {
        done = true;
        return null;
      }
      JsonNode n = parse(l);
      String where = file + ":" + line;
      if (!"run".equals(n.path("type").asText())) {
        throw new TraceFormatException(where + ": corrupt record: expected a run record");
      }
      return TraceCodec.readRun(n, where, decodeSteps.test(n));
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  private JsonNode parse(byte[] l) {
    try {
      return TraceCodec.JSON.readTree(l);
    } catch (IOException e) {
      throw new TraceFormatException(
          file + ":" + line + ": corrupt record (not valid JSON): " + firstLine(e.getMessage()), e);
    }
  }

  private static String firstLine(String s) {
    int i = s.indexOf('\n');
    return i < 0 ? s : s.substring(0, i);
  }

  private final byte[] buf = new byte[1 << 16];
  private int pos;
  private int limit;

  /** The next complete line without its newline; null at the end (noting a cut-off tail). */
  private byte[] readLine() throws IOException {
    ByteArrayOutputStream b = null;
    while (true) {
      if (pos == limit) {
        limit = in.read(buf, 0, buf.length);
        pos = 0;
        if (limit <= 0) {
          limit = 0;
          if (b != null && b.size() > 0) {
            truncated = new Truncation(line + 1, offset, b.size());
          }
          return null;
        }
      }
      int nl = -1;
      for (int i = pos; i < limit; i++) {
        if (buf[i] == '\n') {
          nl = i;
          break;
        }
      }
      if (nl >= 0) {
        byte[] out;
        if (b == null) {
          out = java.util.Arrays.copyOfRange(buf, pos, nl);
        } else {
          b.write(buf, pos, nl - pos);
          out = b.toByteArray();
        }
        pos = nl + 1;
        line++;
        offset += out.length + 1;
        return out;
      }
      if (b == null) {
        b = new ByteArrayOutputStream(1 << 17);
      }
      b.write(buf, pos, limit - pos);
      pos = limit;
    }
  }

  @Override
  public void close() {
    try {
      in.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
