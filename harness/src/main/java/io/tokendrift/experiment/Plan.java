package io.tokendrift.experiment;

import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.Fillers;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.Point;
import io.tokendrift.spec.SpecAxes;
import io.tokendrift.spec.SpecHash;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The grid expanded into runs and the runs packed into forward passes.
 *
 * <p>For a batch size B, a seed, a repeat and one engine configuration, the rows are filled by
 * rotating the experiment's own prompts (topped up with {@link Fillers} when there are fewer than
 * B): rotation j puts prompt (j + r) mod L in row r. Every (prompt, position) pair the grid asks
 * for falls in exactly one rotation, so one forward pass yields a run for every requested row that
 * holds one of the experiment's prompts.
 */
public final class Plan implements Planned {
  /**
   * One run of the grid.
   *
   * @param id stable id: a hash of prompt text, point, seed, repeat and decoding settings (not of
   *     the model or machine, so a baseline's runs match a later check's)
   * @param prompt the prompt
   * @param point the conditions
   * @param seed sampling seed
   * @param repeat repeat number from 0
   */
  public record Run(String id, ExperimentSpec.Prompt prompt, Point point, long seed, int repeat) {}

  /**
   * One forward pass group (a "pass", not to be confused with the engine's running {@code
   * engine.Batch}): the rows' texts, and which rows are recorded as which runs.
   *
   * @param index position in the plan (shards take every n-th)
   * @param options the engine configuration
   * @param seed sampling seed of every row
   * @param repeat repeat number
   * @param rows prompt text per row
   * @param rowPromptIds the experiment prompt id per row, or null for a filler
   * @param runs row → run, for the rows the grid asks for
   * @param kvCache false when every step recomputes the whole prefix (no KV cache)
   * @param env the process environment it runs in (a forked child), or null for this process
   * @param engine the name of the engine of {@code axes.engine} that runs it, or null for the
   *     spec's engine
   */
  public record Pass(
      int index,
      EngineOptions options,
      long seed,
      int repeat,
      List<String> rows,
      List<String> rowPromptIds,
      Map<Integer, Run> runs,
      boolean kvCache,
      String env,
      String engine)
      implements RunLoop.Unit {
    @Override
    public List<String> runIds() {
      return runs.values().stream().map(Run::id).toList();
    }

    @Override
    public String label() {
      return "batch "
          + index
          + " ("
          + options.device()
          + ", "
          + rows.size()
          + " rows"
          + (env == null ? "" : ", env " + env)
          + (engine == null ? "" : ", engine " + engine)
          + ")";
    }
  }

  private final ExperimentSpec spec;
  private final List<Pass> batches = new ArrayList<>();
  private final List<Run> runs = new ArrayList<>();

  public Plan(ExperimentSpec spec) {
    this.spec = spec;
    List<ExperimentSpec.Prompt> prompts = spec.prompts();
    int n = prompts.size();
    String decoding = spec.decoding().key();
    SpecAxes a = spec.axes();
    // Environments outermost: each child process runs one contiguous stretch of the plan.
    // Engines next: each engine's batches run as one stretch, on one loaded model.
    for (String env : a.envValues())
      for (String eng : a.engineValues())
        for (var d : a.devices()) {
          for (var sum : a.summations()) {
            for (var prec : a.precisions()) {
              for (int threads : a.threads()) {
                for (boolean inv : a.batchInvariant()) {
                  EngineOptions opts = new EngineOptions(d, prec, sum, threads, inv);
                  for (Boolean kv : a.kvCacheValues())
                    for (int b : a.batchSizes()) {
                      List<Integer> positions = a.positionsFor(b);
                      int l = Math.max(n, b);
                      // Rotations needed: j = (prompt - position) mod L.
                      TreeSet<Integer> needed = new TreeSet<>();
                      for (int i = 0; i < n; i++) {
                        for (int p : positions) {
                          needed.add(Math.floorMod(i - p, l));
                        }
                      }
                      for (long seed : spec.decoding().seeds()) {
                        for (int rep = 0; rep < a.repeats(); rep++) {
                          for (int j : needed) {
                            List<String> rows = new ArrayList<>();
                            List<String> ids = new ArrayList<>();
                            Map<Integer, Run> recorded = new LinkedHashMap<>();
                            for (int r = 0; r < b; r++) {
                              int slot = (j + r) % l;
                              if (slot < n) {
                                ExperimentSpec.Prompt pr = prompts.get(slot);
                                rows.add(pr.text());
                                ids.add(pr.id());
                                if (positions.contains(r)) {
                                  Point pt =
                                      new Point(d, b, r, sum, prec, threads, inv, kv, env, eng);
                                  Run run =
                                      new Run(
                                          runId(pr, pt, seed, rep, decoding), pr, pt, seed, rep);
                                  recorded.put(r, run);
                                }
                              } else {
                                rows.add(Fillers.TEXTS.get((slot - n) % Fillers.TEXTS.size()));
                                ids.add(null);
                              }
                            }
                            Pass batch =
                                new Pass(
                                    batches.size(),
                                    opts,
                                    seed,
                                    rep,
                                    List.copyOf(rows),
                                    java.util.Collections.unmodifiableList(ids),
                                    java.util.Collections.unmodifiableMap(recorded),
                                    kv == null || kv,
                                    env,
                                    eng);
                            batches.add(batch);
                            runs.addAll(recorded.values());
                          }
                        }
                      }
                    }
                }
              }
            }
          }
        }
    if (runs.size() != spec.gridSize()) {
      throw new IllegalStateException(
          "plan holds " + runs.size() + " runs, the grid " + spec.gridSize());
    }
  }

  @Override
  public ExperimentSpec spec() {
    return spec;
  }

  @Override
  public long runsIn(int index, int count) {
    return shard(index, count).stream().mapToLong(b -> b.runs().size()).sum();
  }

  @Override
  public String unitNoun() {
    return "forward batches";
  }

  /** Every forward-pass group, in execution order. */
  public List<Pass> batches() {
    return batches;
  }

  /** Every run of the grid. */
  public List<Run> runs() {
    return runs;
  }

  /** The batches of shard {@code index} of {@code count}: every count-th, from index. */
  public List<Pass> shard(int index, int count) {
    List<Pass> out = new ArrayList<>();
    for (Pass b : batches) {
      if (b.index() % count == index) {
        out.add(b);
      }
    }
    return out;
  }

  static String runId(ExperimentSpec.Prompt p, Point pt, long seed, int repeat, String decoding) {
    return runId(p, pt.key(), seed, repeat, decoding);
  }

  static String runId(
      ExperimentSpec.Prompt p, String pointKey, long seed, int repeat, String decoding) {
    return SpecHash.sha256(
            "prompt="
                + p.text()
                + "\npoint="
                + pointKey
                + "\nseed="
                + seed
                + "\nrepeat="
                + repeat
                + "\ndecoding="
                + decoding)
        .substring(0, 16);
  }

  /**
   * The draw stream of a prompt and seed: the same under every point and repeat, so sampled runs
   * differ only where the logits do.
   */
  static long drawStream(String promptText, long seed) {
    String h = SpecHash.sha256("draws\nprompt=" + promptText + "\nseed=" + seed);
    return Long.parseUnsignedLong(h.substring(0, 16), 16);
  }
}
