package io.tokendrift.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A record set aside as bytes comes back whole: its trace line (every field the trace holds, each
 * column's bits) is the original's.
 */
class RecordBytesTest {
  private static RunRecord.Builder base(String id, Steps s, int[] tokens) {
    Map<String, String> point = new LinkedHashMap<>();
    point.put("batch_size", "4");
    point.put("precision", "fp64");
    return RunRecord.of(id, RunRecord.Status.OK)
        .prompt("p1", "At night the sky is")
        .at(point, 42, 0)
        .output("MAX_TOKENS", "naïve ✓ text", new int[] {5, 6, 7}, tokens)
        .batch(12.345, 4, 2)
        .steps(s);
  }

  private static void roundTrips(RunRecord r) {
    RunRecord back = RecordBytes.decode(ByteBuffer.wrap(RecordBytes.encode(r)));
    assertThat(TraceCodec.run(back)).isEqualTo(TraceCodec.run(r));
  }

  @Test
  void aLocalRunWithSampledStepsFloat64ColumnsAndFullLogits() {
    Steps s = new Steps(3, true);
    s.add(
        1.5f,
        new int[] {9, 4, 2},
        new float[] {1.5f, 1.25f, -0.0f},
        3f,
        0.5f,
        0.25,
        0.125f,
        0x1234_5678_9abc_def0L,
        new float[] {1f, Float.NaN, -2f});
    // A NaN draw with a margin (Gumbel), a padded top-K, a NaN logit with a payload.
    s.add(
        Float.intBitsToFloat(0x7fc0_0001),
        new int[] {1},
        new float[] {2f},
        Float.NaN,
        0f,
        Double.NaN,
        1e-7f,
        -1L,
        new float[] {0.5f});
    s.setExact(0, new double[] {1.5000000001, 1.25, Double.NaN});
    s.setExact(1, new double[] {2.0000000002, Double.NaN, Double.NaN});
    roundTrips(base("local", s, new int[] {9, 1}).build());
  }

  @Test
  void aProviderRunWithTextsRetriesAndAProcess() {
    Steps s = new Steps(2, false);
    s.addText(
        -0.5f,
        new int[] {11, 12},
        new float[] {-0.5f, -1f},
        " sky",
        new byte[] {32, 115},
        new String[] {" sky", null});
    s.addText(
        -0.1f, new int[] {13, 14}, new float[] {-0.1f, -3f}, "✓", null, new String[] {"✓", " x"});
    RunRecord r =
        base("provider", s, new int[] {11, 13})
            .provider(
                new ProviderCall(
                    "resp-1",
                    "m",
                    "fp_1",
                    "length",
                    3,
                    2,
                    1,
                    120.5,
                    200,
                    2,
                    true,
                    List.of(new ProviderCall.Retry(503, "http", "Service Unavailable", 250)),
                    8))
            .process(new ProcessInfo("env-a", 4242, new java.util.TreeMap<>(Map.of("K", "v"))))
            .build();
    roundTrips(r);
  }

  @Test
  void aRunWithoutSteps() {
    roundTrips(
        RunRecord.of("failed", RunRecord.Status.FAILED)
            .prompt("p1", "x")
            .at(Map.of("batch_size", "1"), 1, 2)
            .batch(0, 1, 0)
            .error("out of memory")
            .build());
  }
}
