package io.tokendrift.analysis;

import io.tokendrift.spec.Point;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds traces whose divergences, margins and drifts are known by construction. */
final class SyntheticTraces {
  static final int K = 4;

  static final Point REF =
      Point.parse(
          "device=cpu,batch_size=1,batch_position=0,summation=native,precision=fp32,threads=1,batch_invariant=false");
  static final Point BATCH4 =
      Point.parse(
          "device=cpu,batch_size=4,batch_position=3,summation=native,precision=fp32,threads=1,batch_invariant=false");
  static final Point SPLITK =
      Point.parse(
          "device=cpu,batch_size=1,batch_position=0,summation=splitk:4:pairwise,precision=fp32,threads=1,batch_invariant=false");

  private SyntheticTraces() {}

  static TraceHeader header(long grid, String temperature) {
    return new TraceHeader(
        "synthetic",
        "a".repeat(64),
        grid,
        REF.key(),
        Map.of("temperature", temperature),
        Map.of("top_k", Integer.toString(K)),
        "all",
        Map.of("model", "synthetic"));
  }

  /**
   * A reference path: at step i the top-1 is tokens[i] with logit 5, the top-2 is 900 + i with
   * logit 5 - margins[i], then two more at 1 and 0.
   */
  static float[][] logits(double[] margins) {
    float[][] l = new float[margins.length][];
    for (int i = 0; i < margins.length; i++) {
      l[i] = new float[] {5f, (float) (5 - margins[i]), 1f, 0f};
    }
    return l;
  }

  /**
   * A run: tokens, and per step the four logits of ids (token, 900+i, 800, 801) (first two swapped
   * after divergence when {@code swapAt} is reached), every logit shifted by drift[i].
   */
  static RunRecord run(
      String id,
      String prompt,
      Point p,
      int repeat,
      int[] tokens,
      float[][] base,
      float[] drift,
      int swapAt) {
    Steps s = new Steps(K, false);
    for (int i = 0; i < tokens.length; i++) {
      float[] l = base[i];
      int[] ids = {tokens[i], 900 + i, 800, 801};
      float[] v = new float[K];
      for (int j = 0; j < K; j++) {
        v[j] = l[j] + drift[i];
      }
      if (i == swapAt) {
        // The runner-up became the top-1: ids of ranks 0 and 1 trade places, their logits too.
        ids = new int[] {900 + i, refToken(i), 800, 801};
        float t = v[0];
        v[0] = v[1];
        v[1] = t;
      }
      s.add(v[0], ids, v, 6f, 0.5f, Double.NaN, Float.NaN, i, null);
    }
    return RunRecord.of(id, RunRecord.Status.OK)
        .prompt(prompt, "prompt " + prompt)
        .at(p.values(), 0, repeat)
        .output("MAX_TOKENS", "text", new int[] {1}, tokens)
        .batch(1, p.batchSize(), p.batchPosition())
        .steps(s)
        .build();
  }

  static int refToken(int i) {
    return 10 + i;
  }

  static void write(Path file, TraceHeader h, List<RunRecord> runs) {
    try (TraceWriter w = TraceWriter.create(file, h, false)) {
      runs.forEach(w::write);
    }
  }

  static float[] fill(int n, float v) {
    float[] d = new float[n];
    java.util.Arrays.fill(d, v);
    return d;
  }

  static List<RunRecord> list(RunRecord... r) {
    return new ArrayList<>(List.of(r));
  }
}
