package io.tokendrift.engine.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.decode.Logits;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Float64Llama;
import io.tokendrift.model.LlamaCheckpoints;
import io.tokendrift.model.LlamaConfig;
import io.tokendrift.model.LlamaWeights;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.NearTiesFile;
import io.tokendrift.model.TextTokenizer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code precision: fp64}: the DJL engine computing every operation in float64 matches forward
 * passes written independently in plain Java float64 (the tests' ReferenceGpt2 and Float64Llama) to
 * 1e-9, and so takes the true token at every planted micro-tie, whose float64 margins (1e-7 … 1e-5)
 * are far above float64's error and far below float32's.
 */
@Tag("numerics")
class Float64EngineTest {
  static final ModelDir DIR = BundledModel.open();
  static final EngineOptions FP64 = EngineOptions.DEFAULTS.withPrecision(Precision.FP64);

  @Test
  void gpt2InFloat64MatchesAnIndependentForwardPassAndTakesTheTrueTokenAtEveryMicroTie() {
    ReferenceGpt2 ref = new ReferenceGpt2(DIR.weights());
    double worst = 0;
    List<NearTiesFile.MicroTie> ties =
        NearTiesFile.readMicro(DIR.dir().resolve(BundledModel.NEAR_TIES));
    try (TextTokenizer tok = DIR.tokenizer();
        Engine engine = Engines.open(EngineSpec.DEFAULT, DIR, FP64)) {
      assertThat(engine.settings()).containsEntry("precision", "fp64");
      for (NearTiesFile.MicroTie t : ties) {
        int[] prompt = tok.encode(t.prompt());
        // The prompt in a batch of three (other rows beside it), then the path with the KV cache.
        try (Batch b =
            engine.start(List.of(tok.encode("The cat sat on the"), prompt, tok.encode("Hi")))) {
          assertThat(b.exact()).isTrue();
          for (int i = 0; i < t.step(); i++) {
            b.step(new int[] {0, t.path()[i], 0}, new boolean[] {false, true, false});
          }
          double[] got = b.logits64(1);
          double[] want = ref.lastLogits(concat(prompt, t.path()));
          for (int v = 0; v < want.length; v++) {
            worst = Math.max(worst, Math.abs(got[v] - want[v]));
          }
          // The true order of the micro-tie, and its margin, survive.
          assertThat(Logits.argmax(got)).as(t.id()).isEqualTo(t.top1());
          assertThat(got[t.top1()] - got[t.top2()]).as(t.id()).isCloseTo(t.margin(), within(1e-9));
          // The float32 view rounds the same values.
          assertThat(b.logits(1)[t.top1()]).isEqualTo((float) got[t.top1()]);
        }
      }
    }
    System.out.printf("fp64 engine vs independent float64 GPT-2: max |Δlogit| %.2e%n", worst);
    assertThat(worst).isLessThanOrEqualTo(1e-9);
  }

  @Test
  void everyLlamaFamilyPresetInFloat64MatchesFloat64Llama() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (LlamaConfig c : LlamaCheckpoints.ALL) {
      LlamaWeights w = LlamaCheckpoints.random(c, 21);
      Float64Llama ref = new Float64Llama(w);
      int[] prompt = rnd.ints(7, 0, c.vocabSize()).toArray();
      int[] next = rnd.ints(5, 0, c.vocabSize()).toArray();
      double worst = 0;
      try (DjlEngine e = new DjlEngine(w, FP64);
          Batch b = e.start(List.of(prompt))) {
        Float64Llama.Decoder d = ref.decoder();
        double[] want = d.appendAll(prompt);
        for (int s = 0; s <= next.length; s++) {
          double[] got = b.logits64(0);
          for (int v = 0; v < want.length; v++) {
            worst = Math.max(worst, Math.abs(got[v] - want[v]));
          }
          if (s < next.length) {
            b.step(new int[] {next[s]}, new boolean[] {true});
            want = d.append(next[s]);
          }
        }
      }
      System.out.printf(
          "fp64 engine vs Float64Llama, %s %dx%d: max |Δlogit| %.2e%n",
          c.modelType(), c.heads(), c.kvHeads(), worst);
      assertThat(worst)
          .as(c.modelType() + " " + c.heads() + "x" + c.kvHeads())
          .isLessThanOrEqualTo(1e-9);
    }
  }

  @Test
  void batchInvariantModeInFloat64GivesTheSameFloat64LogitsAtAnyBatchSize() {
    // The invariant batch keeps float64 logits too; in float64 a row's logits at batch 1 and 5
    // agree
    // to float64's error, and its greedy steps take the float64 argmax.
    try (TextTokenizer tok = DIR.tokenizer();
        Engine engine = Engines.open(EngineSpec.DEFAULT, DIR, FP64.withBatchInvariant(true))) {
      int[] p = tok.encode("At night the sky is");
      try (Batch one = engine.start(List.of(p));
          Batch five =
              engine.start(
                  List.of(
                      tok.encode("Hi"),
                      tok.encode("The cat sat on the"),
                      p,
                      tok.encode("She poured a cup of"),
                      tok.encode("x")))) {
        assertThat(one.exact()).isTrue();
        double[] a = one.logits64(0);
        double[] b = five.logits64(2);
        double worst = 0;
        for (int v = 0; v < a.length; v++) {
          worst = Math.max(worst, Math.abs(a[v] - b[v]));
        }
        assertThat(worst).isLessThanOrEqualTo(1e-12);
        five.release(0);
        assertThat(five.logits64(2)).containsExactly(b);
      }
    }
  }

  @Test
  void fp64IsACpuPrecision() {
    assertThatThrownBy(
            () -> Engines.open(EngineSpec.DEFAULT, DIR, FP64.withDevice(DeviceSpec.parse("gpu"))))
        .hasMessageContaining("precision 'fp64' runs on the CPU");
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }
}
