package io.tokendrift.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Batch-invariant mode's KV cache and attention ({@link InvariantBatch}). The cache is one buffer
 * per layer, [slots, KV heads, capacity, D]: each row owns a slot and keeps its keys there from
 * position 0, new keys written in place; what lies beyond a row's length (zeros, or a former
 * occupant's keys) is masked. A released row's slot goes to the next row that joins, cleared.
 */
final class SlotCache {
  /**
   * The least key length attention runs over: shorter rows are padded (masked) up to it. PyTorch's
   * CPU softmax takes another code path for rows of fewer than 8 values (measured), so a row's
   * softmax must never see fewer.
   */
  static final int MIN_KEYS = 16;

  private final DecoderGraph graph;
  private final NDManager manager;
  private NDArray[] kBuf;
  private NDArray[] vBuf;
  private int cap;
  private int slots;
  private int[] slot = new int[0];
  private final TreeSet<Integer> freeSlots = new TreeSet<>();

  SlotCache(DecoderGraph graph, NDManager manager) {
    this.graph = graph;
    this.manager = manager;
  }

  /**
   * Gives {@code count} new rows (numbered after the existing ones) a slot each, with room for
   * {@code longest} positions: free slots first, cleared, so no stale value (an fp16 overflow, say)
   * meets a zero weight as inf * 0; then new ones.
   */
  void addRows(int count, int longest) {
    int from = slot.length;
    slot = Arrays.copyOf(slot, from + count);
    int need = Math.max(0, count - freeSlots.size());
    allocate(slots + need, longest);
    int next = slots - need;
    for (int r = from; r < from + count; r++) {
      Integer f = freeSlots.pollFirst();
      slot[r] = f != null ? f : next++;
      if (f != null) {
        for (int l = 0; l < kBuf.length; l++) {
          kBuf[l].set(new NDIndex("{}", f), 0f);
          vBuf[l].set(new NDIndex("{}", f), 0f);
        }
      }
    }
  }

  /** Room for {@code longest} positions in every slot. */
  void ensureLength(int longest) {
    allocate(slots, longest);
  }

  /** Frees row {@code row}'s slot for a row that joins later. */
  void release(int row) {
    if (slot[row] >= 0) {
      freeSlots.add(slot[row]);
      slot[row] = -1;
    }
  }

  /**
   * Makes the cache hold at least {@code wantSlots} rows of {@code wantLength} positions (grown in
   * steps, old contents copied, new room zero).
   */
  private void allocate(int wantSlots, int wantLength) {
    int layers = graph.layers();
    int newCap = cap;
    if (wantLength > cap) {
      newCap = Math.max(Math.max(64, 2 * cap), (wantLength + 63) / 64 * 64);
    }
    int newSlots = Math.max(slots, wantSlots);
    if (newCap == cap && newSlots == slots) {
      return;
    }
    long kv = graph.kvHeads();
    long d = graph.headDim();
    if (kBuf == null) {
      kBuf = new NDArray[layers];
      vBuf = new NDArray[layers];
    }
    for (int l = 0; l < layers; l++) {
      NDArray k = manager.zeros(new Shape(newSlots, kv, newCap, d), graph.dtype());
      NDArray v = manager.zeros(new Shape(newSlots, kv, newCap, d), graph.dtype());
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
  NDArray attend(
      int l,
      NDArray qAll,
      NDArray kAll,
      NDArray vAll,
      List<Integer> live,
      int[] offset,
      int[][] ids,
      int[] lengths) {
    DecoderGraph g = graph;
    int kv = g.kvHeads();
    int groups = g.kvGroups();
    int d = g.headDim();
    int c = g.attentionWidth();
    int n = (int) qAll.getShape().get(2);
    write(l, kAll, vAll, live, offset, ids, lengths);
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
    DataType dt = graph.dtype();
    DataType acc = graph.accumulation();
    NDArray scores = q.mul(k.expandDims(2)).sum(new int[] {4}); // [B, KV, G, S]
    if (dt != acc) {
      scores = scores.toType(acc, false);
    }
    NDArray p = scores.add(mask).softmax(-1);
    if (dt != acc) {
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
      int l,
      NDArray kAll,
      NDArray vAll,
      List<Integer> live,
      int[] offset,
      int[][] ids,
      int[] lengths) {
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
}
