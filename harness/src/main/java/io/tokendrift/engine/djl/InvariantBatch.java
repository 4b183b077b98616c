package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tokendrift.engine.Batch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Batch-invariant mode that keeps the batch. A row's logits cannot depend on the rest of its batch
 * because no computation a row takes part in has a shape that does:
 *
 * <ul>
 *   <li>Every matrix product of a linear layer (and the LM head) sees exactly {@link #ROWS} rows:
 *       the batch's rows (every new position of every row, flattened) are cut into groups of {@code
 *       ROWS}, the last one padded with zero rows. A CPU matmul picks its kernel by the row count
 *       (measured here: rows 1-3 one way, 4-16 another), and a row's result does not depend on its
 *       place among the rows of one call; with the count fixed, it depends on the row alone.
 *   <li>Attention is written so that no reduction depends on how many keys are padded in or how
 *       many rows sit beside a row: scores are elementwise products summed over the head width (one
 *       reduction of D values per key), keys beyond a row's own are masked with -inf, the softmax
 *       runs over at least {@link #MIN_KEYS} keys, and the weighted sum is an elementwise product
 *       summed over the keys (masked keys add exact zeros at the end). Decode steps run every live
 *       row at once over the longest row's key count; a prefill runs query by query over the keys
 *       each query sees, which is what a decode step at that position computes — so decoding with
 *       the cache and recomputing the prefix agree bit for bit. (A matmul for the scores or the
 *       weighted sum would not do: its kernel changes with the key count.) The premise is checked
 *       on the machine's own kernels by {@code PaddedAttentionPremiseTest}.
 *   <li>The KV cache is one buffer per layer, [slots, KV heads, capacity, D], each row's keys in
 *       its own slot from position 0, new keys written in place.
 *   <li>Everything else (embeddings, LayerNorm over the width, GELU, residual adds) works on each
 *       row alone.
 * </ul>
 *
 * The same code runs a batch of one, so a row's logits are the same bits at any batch size, any
 * position and beside any mix of prompt lengths. The engine checks this on its own weights when it
 * opens ({@link SelfTest}). Cost against the default mode: the padding rows (none at batch 8), the
 * elementwise attention (more memory traffic than a matmul's) and, in a prefill, per-query calls.
 */
final class InvariantBatch implements Batch {
  /** The row count of every matrix product (a multiple of the CPU kernels' row blocks). */
  static final int ROWS = 8;

  /**
   * The least key length attention runs over: shorter rows are padded (masked) up to it. PyTorch's
   * CPU softmax takes another code path for rows of fewer than 8 values (measured), so a row's
   * softmax must never see fewer.
   */
  static final int MIN_KEYS = 16;

  private final DjlEngine e;
  private final NDManager manager;
  private int rows;
  private int[] lengths;

  /**
   * The KV cache, per layer: [slots, KV, cap, D], row r's keys at [slot[r], :, 0:length[r], :];
   * what lies beyond a row's length (zeros, or a former occupant's keys) is masked.
   */
  private NDArray[] kBuf;

  private NDArray[] vBuf;
  private int cap;
  private int slots;
  private int[] slot;
  private final java.util.TreeSet<Integer> freeSlots = new java.util.TreeSet<>();
  private float[][] logits;

  InvariantBatch(DjlEngine engine, List<int[]> prompts) {
    this.e = engine;
    this.manager = engine.manager.newSubManager();
    this.rows = prompts.size();
    this.lengths = new int[rows];
    this.slot = new int[rows];
    try {
      int longest = 0;
      for (int[] p : prompts) {
        longest = Math.max(longest, p.length);
      }
      allocate(rows, longest);
      for (int r = 0; r < rows; r++) {
        slot[r] = r;
      }
      int[][] ids = new int[rows][];
      int[][] pos = new int[rows][];
      for (int r = 0; r < rows; r++) {
        ids[r] = prompts.get(r);
        pos[r] = new int[ids[r].length];
        for (int t = 0; t < pos[r].length; t++) {
          pos[r][t] = t;
        }
      }
      forward(ids, pos, allRows());
    } catch (RuntimeException ex) {
      manager.close();
      throw ex;
    }
  }

  private boolean[] allRows() {
    boolean[] a = new boolean[rows];
    Arrays.fill(a, true);
    return a;
  }

  @Override
  public int rows() {
    return rows;
  }

  /**
   * New rows join without touching the others: each row's computation is its own, so the rows
   * already running keep their caches and their bits.
   */
  @Override
  public boolean addRows(List<int[]> prompts) {
    int from = rows;
    int to = rows + prompts.size();
    lengths = Arrays.copyOf(lengths, to);
    slot = Arrays.copyOf(slot, to);
    logits = Arrays.copyOf(logits, to);
    int[][] ids = new int[to][];
    int[][] pos = new int[to][];
    boolean[] fresh = new boolean[to];
    for (int r = from; r < to; r++) {
      int[] p = prompts.get(r - from);
      if (p.length == 0 || p.length > e.config.contextLength()) {
        throw new IllegalArgumentException(
            "prompt of row "
                + r
                + " has "
                + p.length
                + " tokens; allowed: 1 to "
                + e.config.contextLength());
      }
      ids[r] = p;
      pos[r] = new int[p.length];
      for (int t = 0; t < p.length; t++) {
        pos[r][t] = t;
      }
      fresh[r] = true;
    }
    // Free slots first (a finished row's), then new ones; a reused slot is cleared, so no stale
    // value (an fp16 overflow, say) meets a zero weight as inf * 0.
    int longest = 0;
    for (int r = from; r < to; r++) {
      longest = Math.max(longest, ids[r].length);
    }
    int need = Math.max(0, (to - from) - freeSlots.size());
    allocate(slots + need, longest);
    int next = slots - need;
    for (int r = from; r < to; r++) {
      Integer f = freeSlots.pollFirst();
      slot[r] = f != null ? f : next++;
      if (f != null) {
        for (int l = 0; l < kBuf.length; l++) {
          kBuf[l].set(new NDIndex("{}", f), 0f);
          vBuf[l].set(new NDIndex("{}", f), 0f);
        }
      }
    }
    rows = to;
    forward(ids, pos, fresh);
    return true;
  }

  /**
   * Makes the cache hold at least {@code wantSlots} rows of {@code wantLength} positions (grown in
   * steps, old contents copied, new room zero).
   */
  private void allocate(int wantSlots, int wantLength) {
    int layers = e.graph.layers();
    int newCap = cap;
    if (wantLength > cap) {
      newCap = Math.max(Math.max(64, 2 * cap), (wantLength + 63) / 64 * 64);
    }
    int newSlots = Math.max(slots, wantSlots);
    if (newCap == cap && newSlots == slots) {
      return;
    }
    long kv = e.graph.kvHeads();
    long d = e.graph.headDim();
    if (kBuf == null) {
      kBuf = new NDArray[layers];
      vBuf = new NDArray[layers];
    }
    for (int l = 0; l < layers; l++) {
      NDArray k = manager.zeros(new Shape(newSlots, kv, newCap, d), e.graph.dtype());
      NDArray v = manager.zeros(new Shape(newSlots, kv, newCap, d), e.graph.dtype());
      if (kBuf[l] != null) {
        NDIndex old = new NDIndex("0:{}, :, 0:{}, :", slots, cap);
        k.set(old, kBuf[l]);
        v.set(old, vBuf[l]);
        kBuf[l].close();
        vBuf[l].close();
      }
      kBuf[l] = k;
      vBuf[l] = v;
    }
    for (int sl = slots; sl < newSlots; sl++) {
      if (sl >= wantSlots) {
        freeSlots.add(sl);
      }
    }
    cap = newCap;
    slots = newSlots;
  }

  @Override
  public void release(int row) {
    if (slot[row] >= 0) {
      freeSlots.add(slot[row]);
      slot[row] = -1;
    }
    logits[row] = null;
  }

  @Override
  public float[] logits(int row) {
    return logits[row].clone();
  }

  @Override
  public int length(int row) {
    return lengths[row];
  }

  @Override
  public void step(int[] tokens, boolean[] active) {
    // A stopped row takes no part (nobody's shapes depend on it): only active rows are checked.
    DjlBatch.checkStep(e.config, lengths, tokens, active, false);
    int[][] ids = new int[rows][];
    int[][] pos = new int[rows][];
    for (int b = 0; b < rows; b++) {
      if (!active[b]) {
        continue;
      }
      ids[b] = new int[] {tokens[b]};
      pos[b] = new int[] {lengths[b]};
    }
    forward(ids, pos, active);
  }

  /**
   * New positions for the active rows: their K/V appended to each row's cache, last logits kept.
   */
  private void forward(int[][] ids, int[][] pos, boolean[] active) {
    e.applyThreads();
    DecoderGraph g = e.graph;
    int layers = g.layers();
    int n = 0;
    List<Integer> live = new ArrayList<>();
    for (int b = 0; b < rows; b++) {
      if (active[b]) {
        live.add(b);
        n += ids[b].length;
      }
    }
    if (live.isEmpty()) {
      return;
    }
    long[] idFlat = new long[n];
    long[] posFlat = new long[n];
    int[] offset = new int[rows];
    int at = 0;
    for (int b : live) {
      offset[b] = at;
      for (int t = 0; t < ids[b].length; t++) {
        idFlat[at] = ids[b][t];
        posFlat[at] = pos[b][t];
        at++;
      }
    }
    int longest = 0;
    for (int b : live) {
      longest = Math.max(longest, lengths[b] + ids[b].length);
    }
    allocate(slots, longest);
    float[][] fresh = logits == null ? new float[rows][] : logits.clone();
    try (NDScope scope = new NDScope()) {
      NDArray positions = manager.create(posFlat, new Shape(n));
      NDArray x = g.embed(manager.create(idFlat, new Shape(n)), positions);
      for (int l = 0; l < layers; l++) {
        x =
            g.invariantLayer(
                l,
                x,
                positions,
                this::linear,
                (layer, q, k, v) -> attend(layer, q, k, v, live, offset, ids));
      }
      NDArray last;
      if (n == live.size()) {
        last = g.finalNorm(x); // one new position per row: x holds exactly the last ones
      } else {
        NDArray[] lastRows = new NDArray[live.size()];
        for (int i = 0; i < live.size(); i++) {
          int b = live.get(i);
          long r = offset[b] + ids[b].length - 1L;
          lastRows[i] = x.get(new NDIndex("{}:{}", r, r + 1));
        }
        last =
            g.finalNorm(
                lastRows.length == 1 ? lastRows[0] : NDArrays.concat(new NDList(lastRows), 0));
      }
      float[] flat = linear(g.lmHead(), last).toType(DataType.FLOAT32, false).toFloatArray();
      int vocab = e.config.vocabSize();
      for (int i = 0; i < live.size(); i++) {
        fresh[live.get(i)] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
      }
    }
    for (int b : live) {
      lengths[b] += ids[b].length;
    }
    logits = fresh;
  }

  /**
   * Attention over each row's own keys, in one formulation whose reductions do not depend on how
   * many keys are padded in: scores as an elementwise product summed over the head width (one
   * reduction of D values per key, whatever the key count), a -inf mask on every key beyond the
   * row's (or the query's) own, softmax over at least {@link #MIN_KEYS} keys, and the weighted sum
   * as an elementwise product summed over the keys (masked keys add exact zeros at the end of each
   * sum). So a row's output is the same bits alone, among any rows padded to a longer key length,
   * and query by query in a prefill (measured over key lengths 1-600, padding 0-130, batches of
   * 1-9, 1 and 2 threads, with and without grouped-query attention: 2,576 cases, bit-identical).
   * Decode steps (one new position per live row) run as one batch; a prefill runs query by query.
   * The new keys and values are written into the cache first. Returns [N, H·D].
   */
  private NDArray attend(
      int l,
      NDArray qAll,
      NDArray kAll,
      NDArray vAll,
      List<Integer> live,
      int[] offset,
      int[][] ids) {
    DecoderGraph g = e.graph;
    int kv = g.kvHeads();
    int groups = g.kvGroups();
    int d = g.headDim();
    int c = g.attentionWidth();
    int n = (int) qAll.getShape().get(2);
    write(l, kAll, vAll, live, offset, ids);
    if (n == live.size()) {
      // A decode step: every live row has one new position; all rows at once.
      int s = MIN_KEYS;
      for (int b : live) {
        s = Math.max(s, lengths[b] + 1);
      }
      float[] mask = new float[n * s];
      for (int i = 0; i < n; i++) {
        Arrays.fill(mask, i * s + lengths[live.get(i)] + 1, (i + 1) * s, Float.NEGATIVE_INFINITY);
      }
      NDArray q = qAll.transpose(2, 1, 0, 3).reshape(n, kv, groups, 1, d);
      NDArray o =
          padded(
              q,
              rowsOf(kBuf[l], live, s),
              rowsOf(vBuf[l], live, s),
              manager.create(mask, new Shape(n, 1, 1, s)));
      return o.reshape(n, c);
    }
    // A prefill: each query over exactly the keys it sees (the rest masked), as a decode step at
    // its position would run it.
    List<NDArray> out = new ArrayList<>();
    for (int b : live) {
      int t = ids[b].length;
      int past = lengths[b];
      int sl = slot[b];
      for (int j = 0; j < t; j++) {
        int seen = past + j + 1;
        int s = Math.max(MIN_KEYS, seen);
        float[] mask = new float[s];
        Arrays.fill(mask, seen, s, Float.NEGATIVE_INFINITY);
        NDIndex keys = new NDIndex("{}:{}, :, 0:{}, :", sl, sl + 1, s);
        NDArray q =
            qAll.get(new NDIndex(":, :, {}:{}, :", offset[b] + j, offset[b] + j + 1))
                .reshape(1, kv, groups, 1, d);
        NDArray o =
            padded(
                q,
                kBuf[l].get(keys),
                vBuf[l].get(keys),
                manager.create(mask, new Shape(1, 1, 1, s)));
        out.add(o.reshape(1, c));
      }
    }
    return out.size() == 1 ? out.get(0) : NDArrays.concat(new NDList(out), 0);
  }

  /**
   * q [B, KV, G, 1, D] against keys and values [B, KV, S, D] under the additive mask [B, 1, 1, S]
   * (float32): [B, KV, G, D].
   */
  private NDArray padded(NDArray q, NDArray k, NDArray v, NDArray mask) {
    DataType dt = e.graph.dtype();
    NDArray scores = q.mul(k.expandDims(2)).sum(new int[] {4}); // [B, KV, G, S]
    if (dt != DataType.FLOAT32) {
      scores = scores.toType(DataType.FLOAT32, false);
    }
    NDArray p = scores.add(mask).softmax(-1);
    if (dt != DataType.FLOAT32) {
      p = p.toType(dt, false);
    }
    return p.expandDims(4).mul(v.expandDims(2)).sum(new int[] {3}); // [B, KV, G, D]
  }

  /** Rows {@code live} of a cache buffer, keys 0..s: [N, KV, s, D] (a view when slots run on). */
  private NDArray rowsOf(NDArray buf, List<Integer> live, int s) {
    int first = slot[live.get(0)];
    boolean run = true;
    for (int i = 1; i < live.size() && run; i++) {
      run = slot[live.get(i)] == first + i;
    }
    if (run) {
      return buf.get(new NDIndex("{}:{}, :, 0:{}, :", first, first + live.size(), s));
    }
    NDArray[] parts = new NDArray[live.size()];
    for (int i = 0; i < parts.length; i++) {
      int sl = slot[live.get(i)];
      parts[i] = buf.get(new NDIndex("{}:{}, :, 0:{}, :", sl, sl + 1, s));
    }
    return NDArrays.concat(new NDList(parts), 0);
  }

  /**
   * Writes the live rows' new keys and values [1, KV, N, D] into the cache at their lengths: a run
   * of one-position rows in consecutive slots at the same length in one write.
   */
  private void write(
      int l, NDArray kAll, NDArray vAll, List<Integer> live, int[] offset, int[][] ids) {
    int i = 0;
    while (i < live.size()) {
      int b = live.get(i);
      int t = ids[b].length;
      int j = i + 1;
      if (t == 1) {
        while (j < live.size()
            && ids[live.get(j)].length == 1
            && lengths[live.get(j)] == lengths[b]
            && slot[live.get(j)] == slot[b] + (j - i)
            && offset[live.get(j)] == offset[b] + (j - i)) {
          j++;
        }
      }
      int m = j - i;
      NDIndex from = new NDIndex(":, :, {}:{}, :", offset[b], offset[b] + (t == 1 ? m : t));
      NDArray k = kAll.get(from);
      NDArray v = vAll.get(from);
      NDIndex at;
      if (t == 1) {
        k = k.transpose(2, 1, 0, 3); // [m, KV, 1, D]
        v = v.transpose(2, 1, 0, 3);
        at = new NDIndex("{}:{}, :, {}:{}, :", slot[b], slot[b] + m, lengths[b], lengths[b] + 1);
      } else {
        at = new NDIndex("{}:{}, :, {}:{}, :", slot[b], slot[b] + 1, lengths[b], lengths[b] + t);
      }
      kBuf[l].set(at, k);
      vBuf[l].set(at, v);
      i = j;
    }
  }

  /**
   * The layer over x [N, in] in groups of exactly {@link #ROWS} rows (the last padded with zero
   * rows, dropped again): every matrix product has the same shape.
   */
  private NDArray linear(Linear lin, NDArray x) {
    return linear(lin, x, y -> y);
  }

  /**
   * As {@link #linear(Linear, NDArray)}, with {@code then} (an activation) applied to each group of
   * {@link #ROWS} rows before the padding is dropped: an elementwise kernel splits its work by the
   * tensor's size, so it too sees one shape whatever the batch.
   */
  private NDArray linear(Linear lin, NDArray x, java.util.function.UnaryOperator<NDArray> then) {
    long n = x.getShape().get(0);
    long in = x.getShape().get(1);
    List<NDArray> out = new ArrayList<>();
    for (long from = 0; from < n; from += ROWS) {
      long to = Math.min(n, from + ROWS);
      NDArray chunk = from == 0 && to == n ? x : x.get(new NDIndex("{}:{}", from, to));
      if (to - from < ROWS) {
        NDArray pad = manager.zeros(new Shape(ROWS - (to - from), in), x.getDataType());
        chunk = chunk.concat(pad, 0);
      }
      NDArray y = then.apply(lin.apply(chunk));
      out.add(to - from < ROWS ? y.get(new NDIndex("0:{}", to - from)) : y);
    }
    return out.size() == 1 ? out.get(0) : NDArrays.concat(new NDList(out), 0);
  }

  @Override
  public void close() {
    manager.close();
  }

  /**
   * Checks the mode on the engine's own weights and this machine's kernels: one row alone, and the
   * same row at row 4 of 9 beside 2- and 7-token rows (the rows of its matrix products then come
   * from other prompts, and span two groups), prefill and two steps, compared bit for bit.
   *
   * @return what was checked, for the manifest
   * @throws io.tokendrift.engine.EnvironmentException saying what differed
   */
  static String selfTest(DjlEngine e) {
    int v = e.config.vocabSize();
    int ctx = e.config.contextLength();
    if (ctx < 10) {
      return "skipped: a context of " + ctx + " positions is too short for the probe (10)";
    }
    int[] p = {1 % v, 7 % v, 42 % v, 3 % v, 11 % v};
    List<int[]> crowd = new ArrayList<>();
    for (int r = 0; r < 9; r++) {
      if (r == 4) {
        crowd.add(p);
      } else {
        int[] f = new int[r % 2 == 0 ? 2 : 7];
        for (int i = 0; i < f.length; i++) {
          f[i] = (r * 13 + i * 5 + 2) % v;
        }
        crowd.add(f);
      }
    }
    try (Batch alone = new InvariantBatch(e, List.of(p));
        Batch many = new InvariantBatch(e, crowd)) {
      for (int s = 0; s <= 2; s++) {
        float[] a = alone.logits(0);
        float[] b = many.logits(4);
        if (!Arrays.equals(a, b)) {
          int diff = 0;
          double max = 0;
          for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
              diff++;
              max = Math.max(max, Math.abs((double) a[i] - b[i]));
            }
          }
          throw new io.tokendrift.engine.EnvironmentException(
              String.format(
                  java.util.Locale.ROOT,
                  "batch-invariant mode cannot be guaranteed on this machine: a row's logits"
                      + " differ between a batch of 1 and row 4 of a batch of 9 at %s (%d of %d"
                      + " logits, max |difference| %.3g); this CPU's or library's kernels depend"
                      + " on more than the shapes tokendrift fixes (PyTorch %s); the math"
                      + " library's thread partition is the usual suspect: try --threads 1 (or"
                      + " threads: [1] in the spec), and report it if that fails too",
                  s == 0 ? "the prefill" : "step " + s,
                  diff,
                  a.length,
                  max,
                  ai.djl.engine.Engine.getEngine("PyTorch").getVersion()));
        }
        if (s < 2) {
          int[] t = new int[9];
          Arrays.fill(t, (5 + s) % v);
          boolean[] all = new boolean[9];
          Arrays.fill(all, true);
          alone.step(new int[] {t[0]}, new boolean[] {true});
          many.step(t, all);
        }
      }
    }
    return "passed: a row alone and at row 4 of 9 beside 2- and 7-token rows, prefill and 2 steps,"
        + " bit-identical; every matmul at "
        + ROWS
        + " rows, attention padded and masked from "
        + MIN_KEYS
        + " keys";
  }
}
