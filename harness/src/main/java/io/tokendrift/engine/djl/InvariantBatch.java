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
import io.tokendrift.engine.PromptRule;
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
 *       runs over at least {@link SlotCache#MIN_KEYS} keys, and the weighted sum is an elementwise
 *       product summed over the keys (masked keys add exact zeros at the end). Decode steps run
 *       every live row at once over the longest row's key count; a prefill runs query by query over
 *       the keys each query sees, which is what a decode step at that position computes — so
 *       decoding with the cache and recomputing the prefix agree bit for bit. (A matmul for the
 *       scores or the weighted sum would not do: its kernel changes with the key count.) The
 *       premise is checked on the machine's own kernels by {@code PaddedAttentionPremiseTest}.
 *   <li>The KV cache ({@link SlotCache}) is one buffer per layer, [slots, KV heads, capacity, D],
 *       each row's keys in its own slot from position 0, new keys written in place.
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

  private final DjlEngine e;
  private final NDManager manager;
  private int rows;
  private int[] lengths;
  private final SlotCache cache;
  private float[][] logits;
  private double[][] exact; // the float64 logits of a float64 graph, else null

  InvariantBatch(DjlEngine engine, List<int[]> prompts) {
    this.e = engine;
    this.manager = engine.manager.newSubManager();
    this.rows = prompts.size();
    this.lengths = new int[rows];
    this.cache = new SlotCache(engine.graph, manager);
    try {
      int longest = 0;
      for (int[] p : prompts) {
        longest = Math.max(longest, p.length);
      }
      cache.addRows(rows, longest);
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
    if (!prompts.isEmpty()) {
      PromptRule.check(prompts, rows, e.config, false);
    }
    int from = rows;
    int to = rows + prompts.size();
    lengths = Arrays.copyOf(lengths, to);
    logits = Arrays.copyOf(logits, to);
    int[][] ids = new int[to][];
    int[][] pos = new int[to][];
    boolean[] fresh = new boolean[to];
    for (int r = from; r < to; r++) {
      int[] p = prompts.get(r - from);
      ids[r] = p;
      pos[r] = new int[p.length];
      for (int t = 0; t < p.length; t++) {
        pos[r][t] = t;
      }
      fresh[r] = true;
    }
    int longest = 0;
    for (int r = from; r < to; r++) {
      longest = Math.max(longest, ids[r].length);
    }
    cache.addRows(to - from, longest);
    rows = to;
    forward(ids, pos, fresh);
    return true;
  }

  @Override
  public void release(int row) {
    cache.release(row);
    logits[row] = null;
    if (exact != null && row < exact.length) {
      exact[row] = null;
    }
  }

  @Override
  public boolean exact() {
    return exact != null;
  }

  @Override
  public double[] logits64(int row) {
    return exact != null ? exact[row].clone() : io.tokendrift.engine.Batch.super.logits64(row);
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
    cache.ensureLength(longest);
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
                (layer, q, k, v) -> cache.attend(layer, q, k, v, live, offset, ids, lengths));
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
      NDArray out = linear(g.lmHead(), last);
      int vocab = e.config.vocabSize();
      if (out.getDataType() == DataType.FLOAT64) {
        double[] flat = out.toDoubleArray();
        if (exact == null || exact.length < rows) {
          exact = exact == null ? new double[rows][] : Arrays.copyOf(exact, rows);
        }
        for (int i = 0; i < live.size(); i++) {
          exact[live.get(i)] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
          fresh[live.get(i)] = Logits64.rounded(exact[live.get(i)]);
        }
      } else {
        float[] flat = out.toType(DataType.FLOAT32, false).toFloatArray();
        for (int i = 0; i < live.size(); i++) {
          fresh[live.get(i)] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
        }
      }
    }
    for (int b : live) {
      lengths[b] += ids[b].length;
    }
    logits = fresh;
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
        + SlotCache.MIN_KEYS
        + " keys";
  }
}
