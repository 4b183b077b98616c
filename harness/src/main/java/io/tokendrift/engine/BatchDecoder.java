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
      while (true) {
        boolean any = false;
        for (int r = 0; r < rows; r++) {
          Generation g = generations.get(r);
          active[r] = false;
          if (!g.beforeStep()) {
            continue;
          }
          float[] logits = batch.logits(r);
          int step = g.step();
          Choice c = g.accept(logits);
          observers.get(r).onStep(step, logits, c);
          tokens[r] = c.token();
          if (!g.done() && batch.length(r) + 1 > ctx) {
            g.stop(StopReason.CONTEXT_FULL);
          }
          active[r] = !g.done();
          any |= active[r];
        }
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
          batch.close();
          batch = engine.start(sequences);
        }
      }
    } finally {
      batch.close();
    }
    List<Completion> out = new ArrayList<>(rows);
    for (Generation g : generations) {
      out.add(g.completion());
    }
    return out;
  }
}
