package io.tokendrift.experiment;

import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.spec.EngineFit;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs forward-pass groups in this process: each on its engine (of the spec, or of the engine
 * axis), opened when the options change and reused while they do not (the plan keeps them
 * together); a device the machine lacks, or a point the engine cannot run, becomes skipped records
 * with the reason. The forked child ({@link ForkedMain}) runs its passes through the same class.
 */
final class LocalExecutor implements RunLoop.Executor<Plan.Pass> {
  private final ExperimentSpec spec;
  private final EngineSet engines;
  private final TextTokenizer tok;
  private final Set<Integer> eos;
  private final Map<String, int[]> encoded = new HashMap<>();
  private String engineName;
  private OpenEngine engine;

  /**
   * @param tok the model's tokenizer (the caller closes it)
   */
  LocalExecutor(ExperimentSpec spec, EngineSet engines, ModelDir dir, TextTokenizer tok) {
    this.spec = spec;
    this.engines = engines;
    this.tok = tok;
    this.eos = dir.config().eosIds();
  }

  @Override
  public boolean execute(Plan.Pass b, Set<String> done, Consumer<RunRecord> out) {
    if (engines.unavailable().get(b.engine()).contains(b.options().device().toString())) {
      Records.skipped(
          b,
          done,
          out,
          "device "
              + b.options().device()
              + " is not available on this machine (the spec marks devices optional)");
      return false;
    }
    String refused = refusal(b);
    if (refused != null) {
      Records.skipped(b, done, out, refused + " (axes.engine." + b.engine() + ")");
      return false;
    }
    BatchExecution x =
        BatchExecution.run(spec, b, p -> open(p).with(p.options()), tok, eos, encoded, done);
    Records.of(b, x, done, out);
    return true;
  }

  /** Why the pass's engine (of an engine axis) cannot run it, or null. */
  private String refusal(Plan.Pass b) {
    if (b.engine() == null) {
      return null;
    }
    for (Plan.Run r : b.runs().values()) {
      String why = EngineFit.refusal(spec.axes().engine(b.engine()).spec(), r.point());
      if (why != null) {
        return why;
      }
    }
    return null;
  }

  /** The open engine of the pass's engine name; the previous engine's is closed first. */
  private OpenEngine open(Plan.Pass b) {
    if (engine == null || !java.util.Objects.equals(engineName, b.engine())) {
      close();
      engine = new OpenEngine(engines.loaders().get(b.engine()));
      engineName = b.engine();
    }
    return engine;
  }

  @Override
  public void close() {
    if (engine != null) {
      OpenEngine e = engine;
      engine = null;
      e.close();
    }
  }
}
