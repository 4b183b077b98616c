package io.tokendrift.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.report.Reports;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A provider experiment end to end against a real {@code tokendrift serve} on loopback (started by
 * the experiment, {@code base_url: local}), with an API key the server requires: the requests go
 * over HTTP with the key, the batch-invariant server answers the same at every concurrency, the
 * trace holds the provider's logprobs, texts and fingerprints, and the key is nowhere in what the
 * run writes or says.
 */
class ProviderRunTest {
  static final String KEY_VAR = "TOKENDRIFT_TEST_API_KEY";

  @TempDir static Path dir;
  static Path trace;
  static List<String> log = new ArrayList<>();
  static Runner.Outcome outcome;
  static Analysis analysis;

  @BeforeAll
  static void run() throws Exception {
    Path spec = dir.resolve("local.yaml");
    Files.writeString(
        spec,
        """
        name: local
        engine: {kind: openai, base_url: local, api: completions, api_key_env: %s, top_logprobs: 5}
        prompts:
          - {id: sky, text: "At night the sky is"}
          - {id: france, text: "The capital of France is"}
        decoding: {temperature: 0, max_tokens: 12}
        axes:
          batch_invariant: [false, true]
          concurrency: [1, 6]
          logprobs: [true, false]
        reference: {batch_invariant: true, concurrency: 1, logprobs: true}
        """
            .formatted(KEY_VAR));
    ExperimentSpec s = ExperimentSpec.read(spec);
    trace = dir.resolve("trace.jsonl");
    outcome =
        Runner.run(new ProviderPlan(s), Runner.Options.of(trace), Runner.Progress.NONE, log::add);
    analysis = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
  }

  @Test
  void everyRunIsRecordedOkWithTheProvidersCall() throws Exception {
    assertThat(System.getenv(KEY_VAR)).as("set by surefire (pom.xml)").isNotBlank();
    assertThat(outcome.ok()).isEqualTo(16); // 8 points x 2 prompts
    assertThat(outcome.failed()).isZero();
    try (TraceReader r = TraceReader.open(trace)) {
      assertThat(r.header().manifest())
          .containsEntry("openai.api", "completions")
          .containsEntry("openai.api_key_env", KEY_VAR)
          .containsEntry("model", "provider:tokendrift-tiny (local serve of bundled)");
      // The started servers' ports change every run; the manifest says local, with each
      // server's fingerprint.
      assertThat(r.header().manifest().get("openai.base_url")).startsWith("local");
      assertThat(r.header().manifest())
          .containsKeys(
              "serve.fingerprint.batch_invariant=false", "serve.fingerprint.batch_invariant=true");
      while (r.hasNext()) {
        RunRecord rec = r.next();
        assertThat(rec.provider().httpStatus()).isEqualTo(200);
        assertThat(rec.provider().systemFingerprint()).startsWith("fp_");
        assertThat(rec.provider().model()).isEqualTo("tokendrift-tiny");
        assertThat(rec.provider().finishReason()).isIn("length", "stop");
        if (rec.point().get("logprobs").equals("true")) {
          assertThat(rec.steps().size()).isEqualTo(rec.tokens().length).isPositive();
          assertThat(rec.steps().k()).isEqualTo(5);
          StringBuilder joined = new StringBuilder();
          for (int i = 0; i < rec.steps().size(); i++) {
            joined.append(rec.steps().text(i));
            assertThat(rec.steps().margin(i)).isGreaterThanOrEqualTo(0f);
          }
          assertThat(joined.toString()).isEqualTo(rec.text());
        } else {
          assertThat(rec.textOnly()).isTrue();
          assertThat(rec.tokens()).isEmpty();
        }
      }
    }
  }

  @Test
  void theBatchInvariantServerAnswersTheSameAtEveryConcurrency() {
    for (var r : analysis.runs()) {
      if (r.point().values().get("batch_invariant").equals("true")) {
        assertThat(r.verdict())
            .as(r.point().key() + " " + r.promptId())
            .isIn(Analyzer.Verdict.REFERENCE, Analyzer.Verdict.IDENTICAL);
      }
    }
    // Two fingerprints: the two server modes differ in a setting that can change a bit.
    assertThat(analysis.provider().fingerprints()).hasSize(2);
    long[] within = analysis.provider().within();
    assertThat(within[0]).isEqualTo(6); // invariant runs compared with an invariant reference
    assertThat(within[1]).isZero();
  }

  @Test
  void reportsCarryTokenTextsAndSayLogitsWereNotAvailable() throws Exception {
    String json = Reports.analysisJson(analysis);
    assertThat(json)
        .contains("\"logits\" : \"not available: margins and drift are in logprob units");
    for (Path p : Reports.write(dir.resolve("out"), json, Reports.FORMATS)) {
      String text = Files.readString(p);
      assertThat(text).doesNotContain(System.getenv(KEY_VAR));
      if (p.toString().endsWith(".md")) {
        assertThat(text).contains("## Provider").contains("Full logits were not available");
      }
    }
  }

  @Test
  void theKeyIsInNoTraceManifestReportOrLogLine() throws Exception {
    String key = System.getenv(KEY_VAR);
    assertThat(Files.readString(trace)).doesNotContain(key);
    assertThat(Reports.analysisJson(analysis)).doesNotContain(key);
    assertThat(String.join("\n", log)).doesNotContain(key);
  }

  @Test
  void aWaveSendsItsRunsAndFillersTogether() {
    ExperimentSpec s = analysisSpec();
    ProviderPlan plan = new ProviderPlan(s);
    // concurrency 6 with 2 prompts: one wave of 2 runs and 4 fillers per point.
    var wave =
        plan.waves().stream().filter(w -> w.point().concurrency() == 6).findFirst().orElseThrow();
    assertThat(wave.runs()).hasSize(2);
    assertThat(wave.fillers()).hasSize(4);
    assertThat(plan.requests()).isEqualTo(4 * (2 + 6));
    assertThat(plan.maxCompletionTokens()).isEqualTo(plan.requests() * 12);
  }

  private static ExperimentSpec analysisSpec() {
    return ExperimentSpec.read(dir.resolve("local.yaml"));
  }

  @Test
  void theTraceResumesWithoutSendingAgain() {
    Runner.Outcome again =
        Runner.run(
            new ProviderPlan(analysisSpec()),
            Runner.Options.of(trace).resuming(),
            Runner.Progress.NONE,
            log::add);
    assertThat(again.alreadyDone()).isEqualTo(16);
    assertThat(again.ok()).isZero();
    assertThat(Map.of("waves", again.forwardBatches())).containsEntry("waves", 0);
  }
}
