package io.tokendrift.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.decode.Logits;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.djl.ReferenceGpt2;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.NearTiesFile;
import io.tokendrift.model.TextTokenizer;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The bundled model's micro-ties, checked with the test suite's own float64 forward pass (written
 * without DJL, not the planting code's) and reached by the engine under test.
 */
@Tag("numerics")
class MicroTiesTest {
  static final ModelDir DIR = BundledModel.open();

  static List<NearTiesFile.MicroTie> ties() {
    return NearTiesFile.readMicro(DIR.dir().resolve(BundledModel.NEAR_TIES));
  }

  @Test
  void atLeastEightMicroTiesWithFloat64MarginsBetween1e7And1e4SpreadOverTheRange() {
    List<NearTiesFile.MicroTie> ties = ties();
    assertThat(ties).hasSizeGreaterThanOrEqualTo(8);
    ReferenceGpt2 ref = new ReferenceGpt2(DIR.weights());
    double lo = Double.POSITIVE_INFINITY;
    double hi = 0;
    try (TextTokenizer tok = DIR.tokenizer()) {
      for (NearTiesFile.MicroTie t : ties) {
        int[] context = Float64Gpt2.concat(tok.encode(t.prompt()), t.path());
        double[] logits = ref.lastLogits(context);
        int[] top = Float64Gpt2.topTwo(logits);
        assertThat(top).as(t.id()).containsExactly(t.top1(), t.top2());
        double margin = logits[t.top1()] - logits[t.top2()];
        assertThat(margin).as(t.id()).isBetween(1e-7, 1e-4);
        // Two float64 implementations agree far below the margins (logits ~10, float64 ~1e-15).
        assertThat(Math.abs(margin - t.margin())).as(t.id()).isLessThan(1e-10);
        lo = Math.min(lo, margin);
        hi = Math.max(hi, margin);
      }
    }
    assertThat(hi / lo).as("spread over two decades, log-spaced").isGreaterThan(50);
    assertThat(ties).anyMatch(t -> t.step() < 10).anyMatch(t -> t.step() >= 10);
  }

  @Test
  void theEnginesGreedyPathReachesEveryMicroTieFromItsPrompt() {
    List<NearTiesFile.MicroTie> ties = ties();
    try (TextTokenizer tok = DIR.tokenizer();
        Engine engine = Engines.open(EngineSpec.DEFAULT, DIR, EngineOptions.DEFAULTS)) {
      for (NearTiesFile.MicroTie t : ties) {
        // Earlier micro-ties of the same prompt: there the engine may pick either of the two.
        Set<Integer> earlier = new HashSet<>();
        for (NearTiesFile.MicroTie o : ties) {
          if (o.prompt().equals(t.prompt()) && o.step() < t.step()) {
            earlier.add(o.step());
          }
        }
        try (Batch b = engine.start(List.of(tok.encode(t.prompt())))) {
          for (int i = 0; i < t.step(); i++) {
            float[] l = b.logits(0);
            int chosen = Logits.argmax(l);
            if (!earlier.contains(i) && chosen != t.path()[i]) {
              // The path was found in float64; float32 may differ only at a near-tie the file did
              // not list (margin within twice the 1e-4 drift tolerance), never at a clear choice.
              assertThat((double) l[chosen] - l[t.path()[i]])
                  .as(
                      "%s, step %d: engine chose %d over the path's %d",
                      t.id(), i, chosen, t.path()[i])
                  .isLessThanOrEqualTo(2e-4);
            }
            b.step(new int[] {t.path()[i]}, new boolean[] {true});
          }
          float[] at = b.logits(0);
          int[] top = Float64Gpt2.topTwo(toDouble(at));
          assertThat(new int[] {Math.min(top[0], top[1]), Math.max(top[0], top[1])})
              .as(t.id())
              .isEqualTo(new int[] {Math.min(t.top1(), t.top2()), Math.max(t.top1(), t.top2())});
          // float32 noise is of the order of 1e-6: the engine sees a tie, on either side.
          assertThat(Math.abs(at[t.top1()] - at[t.top2()])).as(t.id()).isLessThan(1e-4f);
        }
      }
    }
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  @Test
  void nearTiesFileRefusesAStepThatDisagreesWithItsPath() throws Exception {
    java.nio.file.Path f = java.nio.file.Files.createTempFile("near", ".json");
    java.nio.file.Files.writeString(
        f,
        "{\"schema\": \"tokendrift.near_ties/1\", \"near_ties\": [], \"micro_ties\": [{\"id\": \"x\","
            + " \"prompt\": \"a\", \"step\": 2, \"path\": [1], \"top1\": {\"id\": 1}, \"top2\":"
            + " {\"id\": 2}, \"margin_float64\": 1e-6}]}");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> NearTiesFile.readMicro(f))
        .hasMessageContaining("micro_ties[0].step (2) must equal the path's length (1)");
  }
}
