package io.tokendrift.experiment;

import io.tokendrift.decode.Completion;
import io.tokendrift.decode.DecodeSettings;
import io.tokendrift.decode.Generation;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.decode.StepObserver;
import io.tokendrift.decode.StopConditions;
import io.tokendrift.engine.BatchDecoder;
import io.tokendrift.engine.Engine;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.spec.ExperimentSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The runner's third stage: one planned batch decoded on an engine, every row with its own
 * generation, the rows the grid asks for (and the trace does not hold yet) observed step by step.
 *
 * @param completions one per row, or null when the batch failed
 * @param error why it failed ({@code Class: message}), or null
 * @param recorders row → the steps recorded for it
 * @param rowIds the prompt tokens of each row
 * @param millis wall-clock time of the whole batch
 */
record BatchExecution(
    List<Completion> completions,
    String error,
    Map<Integer, StepRecorder> recorders,
    List<int[]> rowIds,
    double millis) {

  /** Whether the batch produced completions. */
  boolean ok() {
    return completions != null;
  }

  /**
   * Runs {@code b}; a runtime failure of the engine or the tokenizer becomes a failed execution,
   * never an exception, so the experiment goes on.
   *
   * @param engine opens (or reuses) the engine for the batch's options
   * @param encoded prompt text → tokens, shared between batches
   */
  static BatchExecution run(
      ExperimentSpec spec,
      Plan.Pass b,
      Function<Plan.Pass, Engine> engine,
      TextTokenizer tok,
      java.util.Set<Integer> eos,
      Map<String, int[]> encoded,
      Set<String> done) {
    long t0 = System.nanoTime();
    Map<Integer, StepRecorder> recorders = new LinkedHashMap<>();
    List<int[]> rowIds = new ArrayList<>();
    List<Completion> completions = null;
    String error = null;
    try {
      Engine e = engine.apply(b);
      List<Generation> gens = new ArrayList<>();
      List<StepObserver> observers = new ArrayList<>();
      for (int r = 0; r < b.rows().size(); r++) {
        String text = b.rows().get(r);
        int[] ids = encoded.computeIfAbsent(text, tok::encode);
        if (ids.length == 0) {
          throw new IllegalArgumentException("prompt '" + text + "' encodes to no tokens");
        }
        rowIds.add(ids);
        gens.add(
            new Generation(
                settings(spec, b.seed(), eos),
                Plan.drawStream(text, b.seed()),
                tok::decode,
                System::nanoTime));
        Plan.Run run = b.runs().get(r);
        if (run != null && !done.contains(run.id())) {
          StepRecorder rec = new StepRecorder(spec.record().topK(), spec.record().fullLogits());
          recorders.put(r, rec);
          observers.add(rec);
        } else {
          observers.add(StepObserver.NONE);
        }
      }
      completions = BatchDecoder.run(e, rowIds, gens, observers, b.kvCache());
    } catch (RuntimeException ex) {
      error = io.tokendrift.engine.Failures.describe(ex);
    }
    return new BatchExecution(
        completions, error, recorders, rowIds, (System.nanoTime() - t0) / 1e6);
  }

  /** The seed's decoding settings for the spec's sampling and stop conditions. */
  static DecodeSettings settings(ExperimentSpec spec, long seed, Set<Integer> eos) {
    ExperimentSpec.Decoding d = spec.decoding();
    SamplingSettings s =
        d.temperature() == 0
            ? SamplingSettings.GREEDY
            : SamplingSettings.of(d.temperature(), d.topK(), d.topP()).withMethod(d.method());
    return new DecodeSettings(
        s,
        new StopConditions(
            d.maxTokens(), eos, d.stop(), Duration.ofNanos((long) (d.timeoutSeconds() * 1e9))),
        seed);
  }
}
