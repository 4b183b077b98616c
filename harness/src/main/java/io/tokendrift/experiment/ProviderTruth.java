package io.tokendrift.experiment;

import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import io.tokendrift.trace.Steps;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A provider's truth ({@code truth: {model: M}}): the weights it serves, run locally in float64 on
 * the served tokens, so each step's served log-probabilities can be compared with the true ones —
 * the server's own numerical error, not only its run-to-run noise. The true values go into the
 * run's steps ({@code top_logits64}: the float64 log-probabilities of the same alternatives, NaN
 * where an alternative's text is not one token of the local vocabulary).
 */
final class ProviderTruth implements AutoCloseable {
  private final Engine engine;
  private final TextTokenizer tok;
  private final Map<String, Integer> ids = new HashMap<>(); // text -> id, -1 when ambiguous

  ProviderTruth(ModelDir dir) {
    this.tok = dir.tokenizer();
    try {
      this.engine =
          Engines.open(
              EngineSpec.DEFAULT, dir, EngineOptions.DEFAULTS.withPrecision(Precision.FP64));
    } catch (RuntimeException e) {
      tok.close();
      throw e;
    }
    int v = engine.capabilities().vocabSize();
    for (int i = 0; i < v; i++) {
      ids.merge(tok.decode(new int[] {i}), i, (a, b) -> -1);
    }
  }

  /** The model's settings for the manifest. */
  Map<String, String> settings() {
    return engine.settings();
  }

  /**
   * Computes the true log-probabilities along the served tokens of {@code steps} (a provider's,
   * with token texts) after {@code prompt}, as far as each served token's text is one token of the
   * local vocabulary; records them with {@link Steps#setExact}.
   */
  void annotate(String prompt, Steps steps) {
    if (steps == null || !steps.hasTexts() || steps.size() == 0) {
      return;
    }
    int[] p = tok.encode(prompt);
    if (p.length == 0) {
      return;
    }
    List<Integer> path = new ArrayList<>();
    for (int i = 0; i < steps.size(); i++) {
      Integer id = ids.get(steps.text(i));
      if (id == null || id < 0) {
        break; // a text the local vocabulary does not hold, or several ids decode to
      }
      path.add(id);
    }
    if (path.isEmpty()) {
      return;
    }
    synchronized (engine) {
      try (Batch b = engine.start(List.of(p))) {
        for (int i = 0; i < path.size(); i++) {
          double[] l = b.logits64(0);
          double max = Double.NEGATIVE_INFINITY;
          for (double x : l) {
            max = Math.max(max, x);
          }
          double sum = 0;
          for (double x : l) {
            sum += Math.exp(x - max);
          }
          double lse = max + Math.log(sum);
          double[] truth = new double[steps.k()];
          for (int j = 0; j < steps.k(); j++) {
            String t = steps.topText(i, j);
            Integer id = t == null ? null : ids.get(t);
            truth[j] = id == null || id < 0 ? Double.NaN : l[id] - lse;
          }
          steps.setExact(i, truth);
          if (i + 1 < path.size()) {
            b.step(new int[] {path.get(i)}, new boolean[] {true});
          }
        }
      }
    }
  }

  @Override
  public void close() {
    try {
      engine.close();
    } finally {
      tok.close();
    }
  }
}
