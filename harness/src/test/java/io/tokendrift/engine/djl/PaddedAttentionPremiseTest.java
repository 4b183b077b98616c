package io.tokendrift.engine.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.tokendrift.TestScale;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The premise of batch-invariant attention ({@link SlotCache}): on this machine's libtorch,
 * attention written as elementwise products summed (scores over the head width, the weighted sum
 * over the keys) with a -inf mask gives a row the same bits whatever the number of padded keys and
 * the number of rows beside it, once a row's softmax sees at least {@link SlotCache#MIN_KEYS} keys.
 * Checked directly on DJL's kernels over key lengths 1-600, padding 0-130, batches of 1-9, 1 and 2
 * threads, with and without grouped-query attention: if another library breaks it, this says so
 * before the invariance tests do.
 */
@Tag("numerics")
class PaddedAttentionPremiseTest {
  static final int MIN = SlotCache.MIN_KEYS;

  static float[] rnd(SplittableRandom r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  /** Row 0's attention output when it sits in B rows whose keys are padded to S. */
  static float[] attend(
      NDManager parent,
      SplittableRandom r,
      float[] q,
      float[] k,
      float[] v,
      int L,
      int S,
      int B,
      int KV,
      int G,
      int D,
      int at) {
    float[] kp = new float[B * KV * S * D];
    float[] vp = new float[B * KV * S * D];
    float[] qp = new float[B * KV * G * D];
    float[] mask = new float[B * S];
    for (int b = 0; b < B; b++) {
      float[] qo = b == at ? q : rnd(r, KV * G * D);
      System.arraycopy(qo, 0, qp, b * KV * G * D, KV * G * D);
      int len = b == at ? L : 1 + r.nextInt(S);
      for (int h = 0; h < KV; h++) {
        for (int s = 0; s < len; s++) {
          for (int d = 0; d < D; d++) {
            int dst = ((b * KV + h) * S + s) * D + d;
            kp[dst] = b == at ? k[(h * L + s) * D + d] : (float) r.nextGaussian();
            vp[dst] = b == at ? v[(h * L + s) * D + d] : (float) r.nextGaussian();
          }
        }
      }
      for (int s = 0; s < S; s++) mask[b * S + s] = s < len ? 0f : Float.NEGATIVE_INFINITY;
    }
    try (NDManager m = parent.newSubManager()) {
      NDArray qb = m.create(qp, new Shape(B, KV, G, 1, D)).mul(0.125f);
      NDArray kb = m.create(kp, new Shape(B, KV, 1, S, D));
      NDArray vb = m.create(vp, new Shape(B, KV, 1, S, D));
      NDArray mb = m.create(mask, new Shape(B, 1, 1, S));
      NDArray sc = qb.mul(kb).sum(new int[] {4}); // [B, KV, G, S]
      NDArray p = sc.add(mb).softmax(-1); // [B, KV, G, S]
      NDArray o = p.expandDims(4).mul(vb).sum(new int[] {3}); // [B, KV, G, D]
      return o.get(new NDIndex("{}:{}", at, at + 1)).toFloatArray();
    }
  }

  @Test
  void aRowsAttentionIsTheSameBitsWhateverThePaddingAndTheRowsBesideIt() {
    ai.djl.engine.Engine.getEngine("PyTorch");
    for (int threads : new int[] {1, 2}) {
      JniUtils.setNumThreads(threads);
      for (int[] kvg : new int[][] {{12, 1}, {3, 3}}) {
        int KV = kvg[0], G = kvg[1], D = 64;
        int bad = 0, total = 0;
        try (NDManager m = NDManager.newBaseManager()) {
          SplittableRandom r = new SplittableRandom(1);
          // Key lengths around the kernels' vector widths and the cache's growth steps; the
          // default build runs every boundary once, -Pthorough the full list.
          for (int L :
              TestScale.pick(
                  new int[] {1, 3, 8, 15, 16, 17, 33, 64, 65, 129, 257, 600},
                  new int[] {
                    1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 48, 63, 64, 65, 100, 129, 200, 257,
                    300, 511, 600
                  })) {
            float[] q = rnd(r, KV * G * D);
            float[] k = rnd(r, KV * L * D);
            float[] v = rnd(r, KV * L * D);
            float[] alone = attend(m, r, q, k, v, L, Math.max(L, MIN), 1, KV, G, D, 0);
            for (int extra :
                TestScale.pick(new int[] {0, 5, 37, 130}, new int[] {0, 1, 5, 16, 37, 64, 130})) {
              for (int B : TestScale.pick(new int[] {1, 4, 9}, new int[] {1, 4, 8, 9})) {
                int S = Math.max(L + extra, MIN);
                float[] row0 = attend(m, r, q, k, v, L, S, B, KV, G, D, (L + extra) % B);
                total++;
                if (!Arrays.equals(row0, alone)) {
                  bad++;
                  if (bad < 6)
                    System.out.println(
                        "  differ: threads "
                            + threads
                            + " KV "
                            + KV
                            + " L "
                            + L
                            + " S "
                            + S
                            + " B "
                            + B);
                }
              }
            }
          }
        }
        System.out.println(
            "threads "
                + threads
                + " KV "
                + KV
                + " G "
                + G
                + ": "
                + bad
                + " of "
                + total
                + " differ");
        // The premise the batch-invariant mode stands on: no row may see its neighbours.
        assertThat(bad)
            .as(
                "threads %d, KV %d, G %d: rows whose attention changed with padding/batch",
                threads, KV, G)
            .isZero();
      }
    }
  }
}
