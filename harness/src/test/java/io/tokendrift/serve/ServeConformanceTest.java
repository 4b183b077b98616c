package io.tokendrift.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.decode.LogitStats;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.PromptRule;
import io.tokendrift.engine.RemoteReply;
import io.tokendrift.engine.RemoteRequest;
import io.tokendrift.engine.openai.OpenAiEngine;
import io.tokendrift.engine.openai.OpenAiOptions;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The engine contract as far as an engine behind HTTP can keep it, for {@code serve} reached the
 * way users reach any provider, through the {@code openai} engine over real HTTP on loopback: the
 * same greedy tokens as the local engine it serves (but at a near-tie, by the flip rule on the
 * served logprobs), the same bits for the same request, and the prompt rule every local engine
 * applies (an empty prompt and one that leaves no room to generate are refused with a 400 naming
 * why).
 */
@Tag("numerics")
class ServeConformanceTest {
  static final String MODEL = "tokendrift-tiny";
  static ModelDir dir;
  static TextTokenizer tok;
  static Engine local;
  static Server server;
  static OpenAiEngine remote;

  @BeforeAll
  static void start() {
    dir = BundledModel.open();
    tok = dir.tokenizer();
    local = Engines.open(EngineSpec.DEFAULT, dir, EngineOptions.DEFAULTS.withBatchInvariant(true));
    server =
        new Server(
            local,
            dir,
            tok,
            new Server.Options("127.0.0.1", 0, MODEL, 8, 64, 65_536, null, true, false));
    Map<String, String> o = new TreeMap<>();
    o.put("base_url", "http://127.0.0.1:" + server.port() + "/v1");
    o.put("model", MODEL);
    o.put("api", "completions");
    o.put("max_retries", "0");
    remote = new OpenAiEngine(OpenAiOptions.of(new EngineSpec("openai", o)));
  }

  @AfterAll
  static void stop() {
    remote.close();
    server.close();
    local.close();
    tok.close();
  }

  static RemoteRequest greedy(String prompt, int tokens) {
    return new RemoteRequest(prompt, false, tokens, 0, 1, null, 5, List.of());
  }

  @Test
  void servedGreedyTokensAreTheLocalEnginesButAtANearTie() throws Exception {
    for (String prompt : List.of("The capital of France is", "At night the sky is")) {
      RemoteReply r = remote.complete(greedy(prompt, 16));
      assertThat(r.ok()).as(r.error()).isTrue();
      assertThat(r.tokens()).hasSize(16);
      // The local engine, fed the served tokens (teacher forcing), must rank each served token
      // first, or within twice the 1e-4 drift tolerance of its first (a near-tie the served
      // process may have resolved the other way).
      int[] p = tok.encode(prompt);
      try (Batch b = local.start(List.of(p))) {
        for (int s = 0; s < r.tokens().size(); s++) {
          float[] l = b.logits(0);
          LogitStats stats = LogitStats.of(l);
          int top = stats.top1();
          int[] served = tok.encode(r.tokens().get(s).text());
          assertThat(served).as("step %d: one token", s).hasSize(1);
          assertThat((double) l[top] - l[served[0]])
              .as("%s, step %d: served %s, local top %s", prompt, s, served[0], top)
              .isLessThanOrEqualTo(2e-4);
          // The served logprob is the local log-softmax of that token, within float32 rounding.
          assertThat(r.tokens().get(s).logprob())
              .isCloseTo(l[served[0]] - stats.logSumExp(), within(1e-4));
          b.step(served, new boolean[] {true});
        }
      }
    }
  }

  @Test
  void theSameRequestTwiceGivesTheSameReplyToTheBit() throws Exception {
    RemoteReply a = remote.complete(greedy("The cat sat on the", 12));
    RemoteReply b = remote.complete(greedy("The cat sat on the", 12));
    assertThat(b.text()).isEqualTo(a.text());
    for (int s = 0; s < a.tokens().size(); s++) {
      assertThat(b.tokens().get(s).logprob()).isEqualTo(a.tokens().get(s).logprob());
      assertThat(Arrays.equals(b.tokens().get(s).topLogprobs(), a.tokens().get(s).topLogprobs()))
          .isTrue();
    }
  }

  @Test
  void promptsAreHeldToTheRuleEveryLocalEngineApplies() throws Exception {
    int ctx = local.capabilities().contextLength();
    // A prompt of exactly the context leaves no room: refused, as start() refuses it.
    StringBuilder longest = new StringBuilder();
    while (tok.encode(longest.toString()).length < ctx) {
      longest.append(" the");
    }
    int n = tok.encode(longest.toString()).length;
    assertThat(PromptRule.tooLong(n, ctx, false)).isTrue();
    RemoteReply tooLong = remote.complete(greedy(longest.toString(), 1));
    assertThat(tooLong.ok()).isFalse();
    assertThat(tooLong.httpStatus()).isEqualTo(400);
    assertThat(tooLong.error())
        .contains("the prompt is " + n + " tokens; this model's context holds " + ctx);
    // One token shorter fits, as it does in start().
    String fits = longest.substring(0, longest.length() - " the".length());
    int m = tok.encode(fits).length;
    assertThat(PromptRule.tooLong(m, ctx, false)).isFalse();
    RemoteReply ok = remote.complete(greedy(fits, 1));
    assertThat(ok.ok()).as(ok.error()).isTrue();
    RemoteReply empty = remote.complete(greedy("", 1));
    assertThat(empty.ok()).isFalse();
    assertThat(empty.httpStatus()).isEqualTo(400);
    assertThat(empty.error()).contains("'prompt' must be a non-empty string");
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }
}
