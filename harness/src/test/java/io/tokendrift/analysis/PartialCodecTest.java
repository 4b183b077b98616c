package io.tokendrift.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A partial's values survive the file bit for bit: floats and doubles (NaN, -0.0, subnormals, the
 * extremes), texts past the Basic Multilingual Plane and with a lone surrogate, a point's axis
 * order, absent values.
 */
class PartialCodecTest {
  private static Contribution roundTrip(Contribution c) throws Exception {
    byte[] b = PartialFormat.CBOR.writeValueAsBytes(new PartialFormat.Item(c, null));
    return PartialFormat.CBOR.readValue(b, PartialFormat.Item.class).run();
  }

  @Test
  void everyValueComesBackWithItsBits() throws Exception {
    float[] drift = {0f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN, 1e-7f, 3.0000002f};
    Comparison cmp =
        new Comparison(
            3,
            -1,
            4,
            drift,
            Double.MIN_VALUE,
            -0.0,
            Double.NaN,
            1e-300,
            0.1 + 0.2,
            -7.5e-6,
            2.5,
            true);
    Map<String, String> pt = new LinkedHashMap<>();
    pt.put("device", "cpu");
    pt.put("batch_size", "8");
    pt.put("batch_position", "7");
    String text = "caf\u00e9 \uD83D\uDE00 lone \uD800 end";
    Analyzer.RunResult r =
        new Analyzer.RunResult(
            "run-1",
            "p",
            "prompt " + text,
            -9_007_199_254_740_993L,
            2,
            PointKey.of(pt),
            RunRecord.Status.OK,
            12,
            0x7fff_ffff_1234L,
            cmp,
            null,
            Double.NaN,
            true,
            -1);
    var vars = new TreeMap<String, String>(Map.of("MKL_CBWR", "COMPATIBLE"));
    Contribution c =
        new Contribution(
            r,
            new int[] {1, 50256, -1},
            text,
            new EnvSummary.Seen("compat", vars),
            Arrays.asList(
                null,
                new GroupSummary.Seen("fp32", "k=v", "p\u00007", 42L, true, true, false, 0.5)),
            new Truth.Seen(
                "run-1",
                "k=v",
                true,
                1e-6,
                12.0,
                false,
                true,
                new Truth.ReferenceCheck("p", 7, 3, 10, 11, Double.NaN),
                new Truth.AtDivergence(Truth.Side.OFF_PATH, -1, Double.NaN, 2)),
            new ProviderSummary.Seen(
                List.of("429", "timeout"),
                true,
                true,
                false,
                "k=v",
                Double.NaN,
                5,
                64,
                1,
                "fp_1",
                "(none)",
                false,
                5,
                ProviderSummary.Against.ACROSS,
                true));
    Contribution back = roundTrip(c);

    Comparison bc = back.result().comparison();
    assertThat(bc.perStepDrift()).hasSize(drift.length);
    for (int i = 0; i < drift.length; i++) {
      assertThat(Float.floatToRawIntBits(bc.perStepDrift()[i]))
          .as("drift[" + i + "]")
          .isEqualTo(Float.floatToRawIntBits(drift[i]));
    }
    assertThat(Double.doubleToRawLongBits(bc.maxDrift()))
        .isEqualTo(Double.doubleToRawLongBits(Double.MIN_VALUE));
    assertThat(Double.doubleToRawLongBits(bc.typicalDrift()))
        .isEqualTo(Double.doubleToRawLongBits(-0.0));
    assertThat(bc.driftTop1()).isEqualTo(0.1 + 0.2);
    assertThat(bc.maxDriftUlps()).isNaN();
    // The rest of the comparison, field for field (its drift array aside).
    assertThat(bc.withoutDrift()).isEqualTo(cmp.withoutDrift());
    assertThat(back.result().id()).isEqualTo("run-1");
    assertThat(back.result().prompt()).isEqualTo("prompt " + text);
    assertThat(back.result().seed()).isEqualTo(-9_007_199_254_740_993L);
    assertThat(back.result().point().key()).isEqualTo("device=cpu,batch_size=8,batch_position=7");
    assertThat(back.result().verdict()).isNull();
    assertThat(back.result().tokensHash()).isEqualTo(0x7fff_ffff_1234L);
    assertThat(back.tokens()).containsExactly(1, 50256, -1);
    assertThat(back.text()).isEqualTo(text);
    assertThat(back.env()).isEqualTo(c.env());
    assertThat(back.groups()).isEqualTo(c.groups());
    assertThat(back.truth().toString()).isEqualTo(c.truth().toString());
    assertThat(back.provider().toString()).isEqualTo(c.provider().toString());
  }

  @Test
  void aRunWithoutComparisonOrWordsComesBackWithout() throws Exception {
    Analyzer.RunResult r =
        new Analyzer.RunResult(
            "f",
            "p",
            "x",
            0,
            0,
            PointKey.parse("a=1"),
            RunRecord.Status.FAILED,
            0,
            0,
            null,
            Analyzer.Verdict.FAILED,
            Double.NaN,
            false,
            -1);
    Contribution back = roundTrip(new Contribution(r, null, null, null, List.of(), null, null));
    assertThat(back.result().comparison()).isNull();
    assertThat(back.result().verdict()).isEqualTo(Analyzer.Verdict.FAILED);
    assertThat(back.tokens()).isNull();
    assertThat(back.text()).isNull();
    assertThat(back.groups()).isEmpty();
    assertThat(back.truth()).isNull();
  }

  @Test
  void aPartialOfAnotherSchemaOrNoPartialAtAllIsRefusedByName(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    var other = dir.resolve("other.tdp");
    java.nio.file.Files.write(
        other,
        PartialFormat.CBOR.writeValueAsBytes(
            new PartialFormat.Head(PartialFormat.FORMAT, "0-0", "0/2", "s", "t.jsonl", List.of())));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PartialFormat.Reader.open(other))
        .hasMessageContaining(other.toString())
        .hasMessageContaining("another tokendrift build");
    var json = dir.resolve("analysis.json");
    java.nio.file.Files.writeString(json, "{\"schema\": \"tokendrift.analysis/1\"}");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PartialFormat.Reader.open(json))
        .hasMessageContaining(json + ": not a partial analysis");
    // The schema names every component: it changes when one is added.
    assertThat(PartialFormat.SCHEMA).matches("[0-9a-f]+-[0-9]+");
  }
}
