package io.tokendrift.trace;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * A run record as bytes, for a reader that sets records aside and takes them back many times (the
 * analysis's reference runs, out of the heap): the fields as the trace's JSON line without its
 * steps, then the per-step columns raw (no base64, no parsing: decoding is copying). Everything the
 * trace line holds comes back, bit for bit.
 */
public final class RecordBytes {
  private RecordBytes() {}

  /** The record's bytes. */
  public static byte[] encode(RunRecord r) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 12);
      DataOutputStream o = new DataOutputStream(bytes);
      Steps s = r.steps();
      RunRecord bare = r.status() == RunRecord.Status.OK ? r.withSteps(new Steps(1, false)) : r;
      string(o, TraceCodec.run(bare));
      o.writeBoolean(s != null && r.status() == RunRecord.Status.OK);
      if (s != null && r.status() == RunRecord.Status.OK) {
        steps(o, s);
      }
      o.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
  }

  /** The record {@link #encode} was given. */
  public static RunRecord decode(ByteBuffer b) {
    String line = string(b);
    JsonNode n;
    try {
      n = TraceCodec.JSON.readTree(line);
    } catch (IOException e) {
      throw new IllegalStateException("a set-aside record is not valid: " + e.getMessage(), e);
    }
    RunRecord r = TraceCodec.readRun(n, "set-aside record", false);
    return b.get() != 0 ? r.withSteps(steps(b)) : r;
  }

  private static void steps(DataOutputStream o, Steps s) throws IOException {
    int n = s.size();
    int k = s.k();
    o.writeInt(k);
    o.writeInt(n);
    floats(o, s.chosenColumn(), n);
    for (int i = 0; i < n * k; i++) {
      o.writeInt(s.idColumn()[i]);
    }
    floats(o, s.logitColumn(), n * k);
    floats(o, s.lseColumn(), n);
    floats(o, s.entropyColumn(), n);
    for (int i = 0; i < n; i++) {
      o.writeDouble(s.drawColumn()[i]);
    }
    floats(o, s.marginColumn(), n);
    for (int i = 0; i < n; i++) {
      o.writeLong(s.digestColumn()[i]);
    }
    o.writeBoolean(s.hasExact());
    if (s.hasExact()) {
      for (int i = 0; i < n * k; i++) {
        o.writeDouble(s.exactColumn()[i]);
      }
    }
    o.writeBoolean(s.hasFullLogits());
    if (s.hasFullLogits()) {
      for (int i = 0; i < n; i++) {
        float[] v = s.fullColumn()[i];
        o.writeInt(v.length);
        floats(o, v, v.length);
      }
    }
    o.writeBoolean(s.hasTexts());
    if (s.hasTexts()) {
      for (int i = 0; i < n; i++) {
        string(o, s.text(i));
        string(o, s.bytes(i));
        for (int j = 0; j < k; j++) {
          string(o, s.topText(i, j));
        }
      }
    }
  }

  private static Steps steps(ByteBuffer b) {
    int k = b.getInt();
    int n = b.getInt();
    float[] chosen = floats(b, n);
    int[] ids = new int[n * k];
    b.asIntBuffer().get(ids);
    b.position(b.position() + 4 * n * k);
    float[] logits = floats(b, n * k);
    float[] lse = floats(b, n);
    float[] ent = floats(b, n);
    double[] draws = new double[n];
    b.asDoubleBuffer().get(draws);
    b.position(b.position() + 8 * n);
    float[] margins = floats(b, n);
    long[] digests = new long[n];
    b.asLongBuffer().get(digests);
    b.position(b.position() + 8 * n);
    double[] exact = null;
    if (b.get() != 0) {
      exact = new double[n * k];
      b.asDoubleBuffer().get(exact);
      b.position(b.position() + 8 * n * k);
    }
    float[][] full = null;
    if (b.get() != 0) {
      full = new float[n][];
      for (int i = 0; i < n; i++) {
        full[i] = floats(b, b.getInt());
      }
    }
    Steps s = Steps.of(k, n, chosen, ids, logits, lse, ent, draws, margins, digests, full);
    if (exact != null) {
      s.exactColumn(exact);
    }
    if (b.get() != 0) {
      String[] texts = new String[n];
      String[] bytes = new String[n];
      String[] tops = new String[n * k];
      for (int i = 0; i < n; i++) {
        texts[i] = string(b);
        bytes[i] = string(b);
        for (int j = 0; j < k; j++) {
          tops[i * k + j] = string(b);
        }
      }
      s.setTexts(texts, tops, bytes);
    }
    return s;
  }

  private static void floats(DataOutputStream o, float[] v, int n) throws IOException {
    for (int i = 0; i < n; i++) {
      o.writeInt(Float.floatToRawIntBits(v[i]));
    }
  }

  private static float[] floats(ByteBuffer b, int n) {
    float[] v = new float[n];
    b.asFloatBuffer().get(v);
    b.position(b.position() + 4 * n);
    return v;
  }

  private static void string(DataOutputStream o, String s) throws IOException {
    if (s == null) {
      o.writeInt(-1);
      return;
    }
    o.writeInt(s.length());
    o.writeChars(s); // UTF-16 units as they are: a lone surrogate comes back too
  }

  private static String string(ByteBuffer b) {
    int n = b.getInt();
    if (n < 0) {
      return null;
    }
    char[] c = new char[n];
    b.asCharBuffer().get(c);
    b.position(b.position() + 2 * n);
    return new String(c);
  }
}
