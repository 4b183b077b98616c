package io.tokendrift.analysis;

import io.tokendrift.trace.RecordBytes;
import io.tokendrift.trace.RunRecord;

/**
 * A reference run as the analysis holds it: its fields, tokens, text and per-step margins in the
 * heap (what the tables read for every compared run), its whole record, top-K columns included, set
 * aside in a {@link RunSpill} and decoded when a comparison or a divergence's context needs it. The
 * heap a reference costs is then a few bytes per step, not its top-K's.
 */
public final class Reference {
  private final RunRecord light; // the record without its steps
  private final RunRecord whole; // the record, when the budget kept it in the heap
  private final long wholeBytes; // what the budget counted for it
  private final float[] margins;
  private final RunSpill store;
  private final long at;

  private Reference(
      RunRecord light, RunRecord whole, long wholeBytes, float[] margins, RunSpill store, long at) {
    this.light = light;
    this.whole = whole;
    this.wholeBytes = wholeBytes;
    this.margins = margins;
    this.store = store;
    this.at = at;
  }

  /**
   * Keeps {@code r} whole while {@code budget[0]} (bytes) allows, and takes its size off; else sets
   * it aside in {@code store}, keeping what the tables read.
   */
  static Reference of(RunRecord r, RunSpill store, long[] budget) {
    float[] m = new float[r.steps() == null ? 0 : r.steps().size()];
    for (int i = 0; i < m.length; i++) {
      m[i] = r.steps().margin(i);
    }
    RunRecord light = r.withSteps(null);
    long size = heapBytes(r);
    if (size <= budget[0]) {
      budget[0] -= size;
      return new Reference(light, r, size, m, store, -1);
    }
    return new Reference(light, null, 0, m, store, store.putBytes(RecordBytes.encode(r)));
  }

  /** About what a record's steps take in the heap. */
  private static long heapBytes(RunRecord r) {
    var s = r.steps();
    if (s == null) {
      return 0;
    }
    long n = s.size();
    long k = s.k();
    long b = n * k * 8 + n * 32;
    b += s.hasExact() ? n * k * 8 : 0;
    b += s.hasTexts() ? n * (k + 2) * 48 : 0;
    if (s.hasFullLogits()) {
      for (int i = 0; i < n; i++) {
        b += 4L * s.fullLogits(i).length;
      }
    }
    return b;
  }

  public String id() {
    return light.id();
  }

  public String promptId() {
    return light.promptId();
  }

  public String prompt() {
    return light.prompt();
  }

  public long seed() {
    return light.seed();
  }

  public int[] tokens() {
    return light.tokens();
  }

  public String text() {
    return light.text();
  }

  /** Steps recorded. */
  public int size() {
    return margins.length;
  }

  /** Top-1 minus top-2 logit at step i (NaN with one recorded alternative). */
  public float margin(int i) {
    return margins[i];
  }

  /** The heap its whole record takes, as the budget counted it (0 when set aside). */
  long wholeBytes() {
    return wholeBytes;
  }

  /** The spill it is set aside in (shared by an analysis's references). */
  RunSpill store() {
    return store;
  }

  /** The record without its steps (ids, tokens, text, provider and process fields). */
  RunRecord light() {
    return light;
  }

  /**
   * The last reference whose whole record was read back, and that record: runs of one prompt and
   * seed often come together, and then one read serves them.
   */
  static final class LastRead {
    private Reference entry;
    private RunRecord record;

    /** {@code r}'s whole record, read back unless it was the last one asked for. */
    RunRecord of(Reference r) {
      if (r != entry) {
        record = r.record();
        entry = r;
      }
      return record;
    }

    /** Keeps nothing (after the pass that reads). */
    void clear() {
      entry = null;
      record = null;
    }
  }

  /** The whole record, steps included, read back from the spill. */
  public RunRecord record() {
    return whole != null ? whole : RecordBytes.decode(store.bytes(at));
  }
}
