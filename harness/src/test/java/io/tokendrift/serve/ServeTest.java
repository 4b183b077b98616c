package io.tokendrift.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The server driven by the official OpenAI Java SDK over real HTTP on loopback: completions, chat,
 * streaming, logprobs, errors, and the phenomenon — a temperature-0 request's logprobs depend on
 * what else is running in the default mode, and do not with --batch-invariant.
 */
@Tag("numerics")
class ServeTest {
  static final String MODEL = "tokendrift-tiny";
  static Running plain;
  static Running invariant;

  /** A server with its engine and tokenizer, and a client. */
  record Running(Server server, Engine engine, TextTokenizer tok, OpenAIClient client)
      implements AutoCloseable {
    static Running start(boolean invariant, String key) {
      ModelDir dir = BundledModel.open();
      TextTokenizer tok = dir.tokenizer();
      Engine engine =
          Engines.open(
              EngineSpec.DEFAULT, dir, EngineOptions.DEFAULTS.withBatchInvariant(invariant));
      Server s =
          new Server(
              engine,
              dir,
              tok,
              new Server.Options("127.0.0.1", 0, MODEL, 8, 64, 65_536, key, invariant, false));
      OpenAIClient c =
          OpenAIOkHttpClient.builder()
              .baseUrl("http://127.0.0.1:" + s.port() + "/v1")
              .apiKey(key == null ? "none" : key)
              .maxRetries(0)
              .build();
      return new Running(s, engine, tok, c);
    }

    @Override
    public void close() {
      client.close(); // OkHttp's pools and threads go with it
      server.close();
      engine.close();
      tok.close();
    }
  }

  @BeforeAll
  static void start() {
    plain = Running.start(false, null);
    invariant = Running.start(true, null);
  }

  @AfterAll
  static void stop() {
    plain.close();
    invariant.close();
  }

  static ChatCompletionCreateParams chat(String text, int tokens) {
    return ChatCompletionCreateParams.builder()
        .model(MODEL)
        .addUserMessage(text)
        .maxCompletionTokens((long) tokens)
        .temperature(0.0)
        .logprobs(true)
        .topLogprobs(5L)
        .build();
  }

  @Test
  void completionsAnswersLikeGenerate() {
    Completion c =
        plain
            .client()
            .completions()
            .create(
                CompletionCreateParams.builder()
                    .model(MODEL)
                    .prompt("The capital of France is")
                    .maxTokens(4L)
                    .temperature(0.0)
                    .logprobs(3L)
                    .build());
    assertThat(c.choices().get(0).text()).startsWith(" Paris");
    assertThat(c.systemFingerprint()).contains(plain.server().fingerprint());
    assertThat(c.usage().get().completionTokens()).isEqualTo(4);
    assertThat(c.choices().get(0).logprobs().get().topLogprobs().get()).hasSize(4);
  }

  @Test
  void chatStreamsTheSameTextItAnswersWhole() {
    ChatCompletion whole = plain.client().chat().completions().create(chat("hello", 8));
    String text = whole.choices().get(0).message().content().orElse("");
    assertThat(text).isNotEmpty();
    List<ChatCompletionTokenLogprob> lp = whole.choices().get(0).logprobs().get().content().get();
    assertThat(lp).hasSize(8).allSatisfy(t -> assertThat(t.topLogprobs()).hasSize(5));
    StringBuilder streamed = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> s =
        plain.client().chat().completions().createStreaming(chat("hello", 8))) {
      s.stream()
          .forEach(
              ch -> ch.choices().forEach(c -> c.delta().content().ifPresent(streamed::append)));
    }
    assertThat(streamed.toString()).isEqualTo(text);
  }

  @Test
  void badFieldsUnknownModelsAndWrongKeysGetOpenAiErrors() {
    assertThatThrownBy(
            () ->
                plain
                    .client()
                    .completions()
                    .create(
                        CompletionCreateParams.builder().model(MODEL).prompt("hi").n(2L).build()))
        .isInstanceOfSatisfying(
            BadRequestException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(400);
              assertThat(e.param()).contains("n");
            });
    assertThatThrownBy(
            () ->
                plain
                    .client()
                    .chat()
                    .completions()
                    .create(
                        ChatCompletionCreateParams.builder()
                            .model("gpt-4o")
                            .addUserMessage("hi")
                            .build()))
        .isInstanceOf(NotFoundException.class)
        .hasMessageContaining("is not served here");
    try (Running keyed = Running.start(false, "s3cret")) {
      OpenAIClient wrong =
          OpenAIOkHttpClient.builder()
              .baseUrl("http://127.0.0.1:" + keyed.server().port() + "/v1")
              .apiKey("guess")
              .maxRetries(0)
              .build();
      assertThatThrownBy(() -> wrong.chat().completions().create(chat("hi", 2)))
          .isInstanceOf(UnauthorizedException.class);
      wrong.close();
      assertThat(keyed.client().chat().completions().create(chat("hi", 2)).choices()).hasSize(1);
    }
  }

  /** The request alone, then sent again while seven others of other lengths run beside it. */
  static List<double[]> aloneThenUnderLoad(Running r) throws Exception {
    ChatCompletionCreateParams probe = chat("The cat sat on the", 12);
    List<double[]> out = new ArrayList<>();
    out.add(logprobs(r.client().chat().completions().create(probe)));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> others = new ArrayList<>();
      String[] texts = {
        "Once upon a time there was a",
        "hello",
        "The capital of Japan is",
        "In the beginning the garden was quiet, and the old gardener walked slowly",
        "She poured a cup of",
        "3 plus 4 is",
        "The weather today is sunny and the children"
      };
      for (String t : texts) {
        others.add(pool.submit(() -> r.client().chat().completions().create(chat(t, 24))));
      }
      Thread.sleep(30); // the others are running when the probe arrives and joins them
      out.add(logprobs(r.client().chat().completions().create(probe)));
      for (Future<?> f : others) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return out;
  }

  static double[] logprobs(ChatCompletion c) {
    return c.choices().get(0).logprobs().get().content().get().stream()
        .flatMap(t -> t.topLogprobs().stream())
        .mapToDouble(ChatCompletionTokenLogprob.TopLogprob::logprob)
        .toArray();
  }

  @Test
  void underLoadTheDefaultModeChangesLogprobBitsAndBatchInvariantModeDoesNot() throws Exception {
    // Default mode: the probe's rows are recomputed inside a batch of up to 8; on this CPU a batch
    // of 4 or more rows gives other bits. Three tries, in case the others finished first once.
    boolean changed = false;
    for (int i = 0; i < 3 && !changed; i++) {
      List<double[]> p = aloneThenUnderLoad(plain);
      changed = !java.util.Arrays.equals(p.get(0), p.get(1));
    }
    for (int i = 0; i < 3; i++) {
      List<double[]> p = aloneThenUnderLoad(invariant);
      assertThat(p.get(1)).as("batch-invariant: bit-identical under load").isEqualTo(p.get(0));
    }
    // Whether a batch of 4+ rows changes the bits is the CPU's kernels' choice (and the others must
    // still be running when the probe comes): where it does not, the control shows nothing.
    org.junit.jupiter.api.Assumptions.assumeTrue(
        changed, "default mode: this CPU's kernels gave the probe the same bits under load");
  }
}
