package io.tokendrift.cli;

import static io.tokendrift.cli.ExplainCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A provider against the truth: the served model run locally in float64 on the served tokens. A
 * float32 server is off by float32's error; the same server in float16 by far more — its own
 * numerical error, which run-to-run comparisons cannot show.
 */
class ProviderTruthTest {
  @TempDir Path dir;

  @Test
  void servedLogprobsAreJudgedAgainstTheLocalFloat64Model() throws Exception {
    Path spec = dir.resolve("pt.yaml");
    Files.writeString(
        spec,
        """
        name: pt
        engine: {kind: openai, base_url: local, api: completions, top_logprobs: 5}
        prompts: ["At night the sky is", "The capital of France is"]
        decoding: {temperature: 0, max_tokens: 8}
        axes: {concurrency: [1], precision: [fp32, fp16]}
        truth: {model: bundled}
        """);
    Path out = dir.resolve("out");
    ExplainCommandTest.Result r = run("run", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    try (TraceReader t = TraceReader.open(out.resolve("trace.jsonl"))) {
      assertThat(t.header().manifest()).containsEntry("truth.precision", "fp64");
      while (t.hasNext()) {
        RunRecord rec = t.next();
        assertThat(rec.steps().hasExact()).as(rec.id()).isTrue();
        // The served chosen token is the top alternative at temperature 0: its true logprob is
        // recorded beside the served one.
        assertThat(rec.steps().topLogit64(0, 0)).isNegative();
      }
    }
    JsonNode a = new ObjectMapper().readTree(out.resolve("analysis.json").toFile());
    JsonNode pts = a.at("/provider/truth/points");
    assertThat(pts.size()).isEqualTo(2);
    double fp32 = Double.NaN;
    double fp16 = Double.NaN;
    for (JsonNode p : pts) {
      if (p.get("point").asText().contains("precision=fp32")) {
        fp32 = p.get("max_error").asDouble();
      } else {
        fp16 = p.get("max_error").asDouble();
      }
    }
    // float32 logits' log-softmax against float64: float32-sized (1e-7 … 1e-5).
    assertThat(fp32).isGreaterThan(0).isLessThan(1e-4);
    // float16 rounds every activation to 11 bits: orders of magnitude further from the truth.
    assertThat(fp16).isGreaterThan(100 * fp32);
    assertThat(Files.readString(out.resolve("report.md")))
        .contains("Against the served model run locally in float64");
  }
}
