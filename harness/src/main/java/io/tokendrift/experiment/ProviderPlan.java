package io.tokendrift.experiment;

import io.tokendrift.engine.Fillers;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.ProviderPoint;
import java.util.ArrayList;
import java.util.List;

/**
 * The grid of a provider experiment as waves of requests: at a point with concurrency c, each wave
 * sends c requests together — up to c of the grid's runs (the experiment's prompts keep each other
 * company) topped up with filler prompts of other lengths — so the provider batches them as it
 * batches any load. Repeats run in order (repeat r's waves after repeat r − 1's), so that an
 * interval can spread them over time.
 */
public final class ProviderPlan implements Planned {
  /** One run of the grid: one request whose reply is recorded. */
  public record Run(
      String id, ExperimentSpec.Prompt prompt, ProviderPoint point, long seed, int repeat) {}

  /**
   * Requests sent together.
   *
   * @param index position in the plan (shards take every n-th)
   * @param point the conditions
   * @param seed the sampling seed of every request in it
   * @param repeat repeat number
   * @param runs the recorded requests
   * @param fillers prompts sent alongside to make up the concurrency, not recorded
   */
  public record Wave(
      int index, ProviderPoint point, long seed, int repeat, List<Run> runs, List<String> fillers)
      implements RunLoop.Unit {
    /** Requests in flight together. */
    public int concurrency() {
      return point.concurrency();
    }

    @Override
    public List<String> runIds() {
      return runs.stream().map(Run::id).toList();
    }

    @Override
    public String label() {
      return "wave " + index + " (" + point.key() + ")";
    }
  }

  private final ExperimentSpec spec;
  private final List<Wave> waves = new ArrayList<>();
  private final List<Run> runs = new ArrayList<>();

  public ProviderPlan(ExperimentSpec spec) {
    if (!spec.remote()) {
      throw new IllegalArgumentException("a provider plan needs a spec of an HTTP provider");
    }
    this.spec = spec;
    String decoding = spec.decoding().key();
    for (int rep = 0; rep < spec.axes().repeats(); rep++) {
      for (ProviderPoint point : spec.provider().points()) {
        int c = point.concurrency();
        String key = point.key();
        for (long seed : spec.decoding().seeds()) {
          List<ExperimentSpec.Prompt> prompts = spec.prompts();
          for (int from = 0; from < prompts.size(); from += c) {
            List<Run> wave = new ArrayList<>();
            for (int i = from; i < Math.min(prompts.size(), from + c); i++) {
              ExperimentSpec.Prompt p = prompts.get(i);
              wave.add(new Run(Plan.runId(p, key, seed, rep, decoding), p, point, seed, rep));
            }
            List<String> fillers = new ArrayList<>();
            for (int j = wave.size(); j < c; j++) {
              fillers.add(Fillers.TEXTS.get((j - wave.size()) % Fillers.TEXTS.size()));
            }
            waves.add(
                new Wave(waves.size(), point, seed, rep, List.copyOf(wave), List.copyOf(fillers)));
            runs.addAll(wave);
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
    return shard(index, count).stream().mapToLong(w -> w.runs().size()).sum();
  }

  @Override
  public String unitNoun() {
    return "waves of concurrent requests";
  }

  public List<Wave> waves() {
    return waves;
  }

  public List<Run> runs() {
    return runs;
  }

  /** Requests the whole plan sends, fillers included (retries not counted). */
  public long requests() {
    return requests(waves);
  }

  /** Requests these waves send, fillers included. */
  public static long requests(List<Wave> waves) {
    return waves.stream().mapToLong(Wave::concurrency).sum();
  }

  /** At most this many tokens generated: every request running to max_tokens. */
  public long maxCompletionTokens() {
    return requests() * spec.decoding().maxTokens();
  }

  /** Prompt characters these waves send (a provider's prompt tokens are usually fewer). */
  public static long promptCharacters(List<Wave> waves) {
    long n = 0;
    for (Wave w : waves) {
      for (Run r : w.runs()) {
        n += r.prompt().text().length();
      }
      for (String f : w.fillers()) {
        n += f.length();
      }
    }
    return n;
  }

  /** The waves of shard {@code index} of {@code count}: every count-th, from index. */
  public List<Wave> shard(int index, int count) {
    List<Wave> out = new ArrayList<>();
    for (Wave w : waves) {
      if (w.index() % count == index) {
        out.add(w);
      }
    }
    return out;
  }
}
