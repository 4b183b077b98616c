package io.tokendrift.engine;

import io.tokendrift.decode.Choice;
import io.tokendrift.decode.Completion;
import io.tokendrift.decode.Generation;
import io.tokendrift.decode.StepObserver;
import io.tokendrift.decode.StopReason;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes every row of one engine batch together: each row has its own {@link Generation}
 * (settings, seed, stop conditions); a stopped row keeps its slot, masked, until all rows have
 * stopped.
 */
public final class BatchDecoder {
  private BatchDecoder() {}

  /**
   * Runs the batch to completion.
   *
   * @param prompts one prompt per row
   * @param generations one fresh generation per row
   * @param observers one per row, seeing that row's logits before sampling
   * @return one completion per row
   */
  public static List<Completion> run(
      Engine engine,
      List<int[]> prompts,
      List<Generation> generations,
      List<StepObserver> observers) {
    return run(engine, prompts, generations, observers, true);
  }

  /**
   * Runs the batch to completion, with the KV cache or (kvCache false) recomputing every row's
   * whole prefix at every step: a new batch of the sequences so far, so prefill and decode can be
   * compared.
   */
  public static List<Completion> run(
      Engine engine,
      List<int[]> prompts,
      List<Generation> generations,
      List<StepObserver> observers,
      boolean kvCache) {
    int rows = prompts.size();
    if (generations.size() != rows || observers.size() != rows) {
      throw new IllegalArgumentException("one generation and one observer per prompt are needed");
    }
    int ctx = engine.capabilities().contextLength();
    List<int[]> sequences = new ArrayList<>(prompts);
    Batch batch = engine.start(prompts);
    try {
      int[] tokens = new int[rows];
      boolean[] active = new boolean[rows];
      float[][] seen = new float[rows][];
      double[][] exact = new double[rows][];
      int[] steps = new int[rows];
      Choice[] choices = new Choice[rows];
      while (true) {
        boolean any = false;
        for (int r = 0; r < rows; r++) {
          Generation g = generations.get(r);
          active[r] = false;
          seen[r] = null;
          if (!g.beforeStep()) {
            continue;
          }
          float[] logits = batch.logits(r);
          exact[r] = batch.exact() ? batch.logits64(r) : null;
          int step = g.step();
          Choice c = g.accept(logits, exact[r]);
          seen[r] = logits;
          steps[r] = step;
          choices[r] = c;
          tokens[r] = c.token();
          if (!g.done() && batch.length(r) + 1 > ctx) {
            g.stop(StopReason.CONTEXT_FULL);
          }
          active[r] = !g.done();
          any |= active[r];
        }
        observe(observers, seen, exact, steps, choices);
        if (!any) {
          break;
        }
        if (kvCache) {
          batch.step(tokens, active);
        } else {
          for (int r = 0; r < rows; r++) {
            if (active[r]) {
              int[] s = sequences.get(r);
              int[] longer = java.util.Arrays.copyOf(s, s.length + 1);
              longer[s.length] = tokens[r];
              sequences.set(r, longer);
            }
          }
          Batch old = batch;
          batch = null;
          old.close();
          batch = engine.restart(sequences);
        }
      }
    } finally {
      if (batch != null) {
        batch.close();
      }
    }
    List<Completion> out = new ArrayList<>(rows);
    for (Generation g : generations) {
      out.add(g.completion());
    }
    return out;
  }

  /**
   * Each row's observer sees its step, rows in parallel: an observer records one row (its
   * statistics, top-K and digest over the whole vocabulary), so the rows' results are the same in
   * any order, and a batch's recording no longer runs on one core while the others idle.
   */
  /** Below this many logits per row a row's recording is too short to be worth a thread. */
  static final int PARALLEL_VOCAB = 8192;

  private static void observe(
      List<StepObserver> observers,
      float[][] seen,
      double[][] exact,
      int[] steps,
      Choice[] choices) {
    int n = 0;
    int width = 0;
    for (float[] l : seen) {
      n += l == null ? 0 : 1;
      width = l == null ? width : l.length;
    }
    java.util.function.IntConsumer one =
        r -> {
          if (seen[r] != null) {
            observers.get(r).onStep(steps[r], seen[r], exact[r], choices[r]);
          }
        };
    if (n <= 1 || width < PARALLEL_VOCAB) {
      for (int r = 0; r < seen.length; r++) {
        one.accept(r);
      }
    } else {
      java.util.stream.IntStream.range(0, seen.length).parallel().forEach(one);
    }
  }
}
