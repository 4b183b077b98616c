package io.tokendrift.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A provider spec's axes, reference and refusals, each naming file:line:column and the field. */
class ProviderSpecTest {
  @TempDir Path dir;

  private String refusal(String yaml) throws Exception {
    return SpecFiles.refusal(dir, yaml);
  }

  static final String ENGINE =
      "engine: {kind: openai, base_url: \"http://127.0.0.1:8000/v1\", model: m}\n";

  @Test
  void readsTheProviderAxesAndTheDefaultReference() throws Exception {
    ExperimentSpec s =
        ExperimentSpec.read(
            SpecFiles.write(
                dir,
                "name: p\n"
                    + ENGINE
                    + "prompts: [\"a\", \"b\"]\n"
                    + "axes:\n  concurrency: [1, 8]\n  logprobs: [true, false]\n"
                    + "  seed: [sent, omitted]\n  api: [chat, completions]\n  repeats: 3\n"
                    + "  interval_seconds: 2\n"));
    assertThat(s.remote()).isTrue();
    assertThat(s.provider().points()).hasSize(16);
    assertThat(s.referenceKey()).isEqualTo("api=chat,concurrency=1,logprobs=true,seed=sent");
    assertThat(s.gridSize()).isEqualTo(16 * 2 * 3);
    assertThat(s.provider().intervalSeconds()).isEqualTo(2.0);
  }

  @Test
  void requestSetsAreAnAxisWithTheirFieldsCanonicalAndTheirOwnReference() throws Exception {
    ExperimentSpec s =
        ExperimentSpec.read(
            SpecFiles.write(
                dir,
                "name: p\n"
                    + ENGINE
                    + "prompts: [\"a\"]\n"
                    + "axes:\n  concurrency: [1, 8]\n  request:\n"
                    + "    cache: {cache_prompt: true, n_probs: 5}\n"
                    + "    nested: {options: {num_ctx: 512, a: [1, 2]}}\n"
                    + "    plain: {}\n"
                    + "reference: {request: plain}\n"));
    assertThat(s.provider().points()).hasSize(6);
    // Keys sorted at every level: the manifest and the spec hash do not depend on YAML order.
    assertThat(s.provider().requests())
        .containsExactly(
            java.util.Map.entry("cache", "{\"cache_prompt\":true,\"n_probs\":5}"),
            java.util.Map.entry("nested", "{\"options\":{\"a\":[1,2],\"num_ctx\":512}}"),
            java.util.Map.entry("plain", "{}"));
    assertThat(s.referenceKey())
        .isEqualTo("api=chat,concurrency=1,logprobs=true,seed=sent,request=plain");
    // A spec without request sets keeps its points (and so its run ids and hash) as before.
    ExperimentSpec without =
        ExperimentSpec.read(
            SpecFiles.write(
                dir, "name: p\n" + ENGINE + "prompts: [\"a\"]\naxes: {concurrency: [1]}\n"));
    assertThat(without.provider().points().get(0).values()).doesNotContainKey("request");
  }

  @Test
  void aStartedServersPrecisionIsAnAxisOfItsOwnAndOnlyThere() throws Exception {
    ExperimentSpec s =
        ExperimentSpec.read(
            SpecFiles.write(
                dir,
                "name: p\nengine: {kind: openai, base_url: local, api: completions}\n"
                    + "prompts: [\"a\"]\naxes: {concurrency: [1, 4], precision: [fp32, fp16]}\n"
                    + "reference: {precision: fp16}\n"));
    assertThat(s.provider().serverPrecisions()).containsExactly("fp32", "fp16");
    assertThat(s.provider().points()).hasSize(4);
    assertThat(s.referenceKey()).contains("precision=fp16");
    // Without a precision axis the points are as before (no precision key: run ids unchanged).
    ExperimentSpec without =
        ExperimentSpec.read(
            SpecFiles.write(
                dir,
                "name: p\nengine: {kind: openai, base_url: local, api: completions}\n"
                    + "prompts: [\"a\"]\naxes: {concurrency: [1]}\n"));
    assertThat(without.provider().points().get(0).values()).doesNotContainKey("precision");
    // A provider the experiment does not start keeps its own dtype.
    assertThat(
            refusal("name: p\n" + ENGINE + "prompts: [\"a\"]\naxes: {precision: [fp32, fp16]}\n"))
        .contains("engine 'openai' cannot vary precision");
  }

  @Test
  void requestSetsThatCannotBeSentAreRefusedWithTheirLocation() throws Exception {
    String head = "name: p\n" + ENGINE + "prompts: [\"a\"]\naxes:\n  request:\n";
    assertThat(refusal(head + "    hot: {temperature: 0.5}\n"))
        .startsWith("SPEC:6:11: axes.request.hot.temperature: is a field tokendrift sets itself");
    assertThat(refusal(head + "    hot: 3\n"))
        .contains("axes.request.hot: must be a mapping of JSON fields to send ({} sends none)");
    assertThat(refusal(head + "    \"a b\": {}\n")).contains("is not a usable name");
    assertThat(refusal("name: p\n" + ENGINE + "prompts: [\"a\"]\naxes:\n  request: []\n"))
        .contains("axes.request: must be a mapping of names to sets of extra request fields");
    assertThat(refusal("name: p\n" + ENGINE + "prompts: [\"a\"]\nreference: {request: x}\n"))
        .contains("reference.request: names a set of axes.request, and the spec has none");
    assertThat(refusal("name: p\nprompts: [\"a\"]\naxes:\n  request: {a: {}}\n"))
        .contains("axes.request: applies to an HTTP provider");
  }

  @Test
  void axesAProviderCannotVaryAreRefused() throws Exception {
    assertThat(
            refusal(
                "name: p\n"
                    + ENGINE
                    + "prompts: [\"a\"]\naxes:\n  summation: [native, \"splitk:4:pairwise\"]\n"))
        .startsWith("SPEC:5:3: axes.summation: engine 'openai' cannot vary summation")
        .endsWith("axes it can vary: concurrency, logprobs, seed, api");
    assertThat(refusal("name: p\n" + ENGINE + "prompts: [\"a\"]\naxes:\n  threads: [1, 2]\n"))
        .contains("engine 'openai' cannot vary threads");
    // batch_invariant is the started server's mode: only for base_url: local.
    assertThat(
            refusal(
                "name: p\n"
                    + ENGINE
                    + "prompts: [\"a\"]\naxes:\n  batch_invariant: [false, true]\n"))
        .contains("engine 'openai' cannot vary batch_invariant");
  }

  @Test
  void providerAxesOnALocalEngineAreRefused() throws Exception {
    assertThat(refusal("name: p\nprompts: [\"a\"]\naxes:\n  concurrency: [1, 4]\n"))
        .isEqualTo(
            "SPEC:4:3: axes.concurrency: applies to an HTTP provider (engine: {kind: openai,"
                + " ...}); engine 'djl' runs forward passes itself: vary batch sizes and positions"
                + " instead");
  }

  @Test
  void settingsAProviderCannotHonourAreRefused() throws Exception {
    assertThat(
            refusal(
                "name: p\n"
                    + ENGINE
                    + "prompts: [\"a\"]\ndecoding: {temperature: 0.7, top_k: 40}\n"))
        .contains("decoding.top_k: OpenAI's API has no top_k");
    assertThat(refusal("name: p\n" + ENGINE + "prompts: [\"a\"]\naxes: {concurrency: [1, 100]}\n"))
        .contains(
            "axes.concurrency[1]: 100 requests in flight is more than engine.max_concurrency (64)");
    assertThat(
            refusal(
                "name: p\nengine: {kind: openai, base_url: \"http://h/v1\"}\nprompts: [\"a\"]\n"))
        .contains("engine.model: is required");
    assertThat(refusal("name: p\n" + ENGINE + "prompts: [\"a\"]\naxes: {seed: [sometimes]}\n"))
        .contains("axes.seed[0]: 'sometimes' is not known; allowed: sent, omitted");
    assertThat(refusal("name: p\n" + ENGINE + "prompts: [\"a\"]\nreference: {concurrency: 4}\n"))
        .contains(
            "reference: the point api=chat,concurrency=4,logprobs=true,seed=sent is not in the grid");
  }
}
