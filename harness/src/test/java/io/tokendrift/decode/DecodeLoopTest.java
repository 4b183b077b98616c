package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DecodeLoopTest {
  /** Token id -> text; id 0 is EOS. */
  private static final String[] VOCAB = {
    "<eos>", "Hello", ",", " wor", "ld", "\n", "Human", ":", "!"
  };

  private static final Detokenizer DETOK =
      ids -> {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
          sb.append(VOCAB[id]);
        }
        return sb.toString();
      };

  /** A model that always strongly prefers the next token of a script, then repeats "!". */
  private static class Scripted implements LogitSource {
    final int[] script;
    int pos;
    final List<Integer> fed = new ArrayList<>();

    Scripted(int... script) {
      this.script = script;
    }

    @Override
    public float[] prefill(int[] prompt) {
      return logitsFor(0);
    }

    @Override
    public float[] next(int token) {
      fed.add(token);
      return logitsFor(++pos);
    }

    private float[] logitsFor(int i) {
      float[] v = new float[VOCAB.length];
      v[i < script.length ? script[i] : 8] = 10;
      return v;
    }
  }

  private static Completion run(Scripted model, StopConditions stop) {
    return run(model, stop, System::nanoTime);
  }

  private static Completion run(
      Scripted model, StopConditions stop, java.util.function.LongSupplier clock) {
    return DecodeLoop.run(
        model,
        new int[] {1},
        new DecodeSettings(SamplingSettings.GREEDY, stop, 0),
        0,
        DETOK,
        StepObserver.NONE,
        clock);
  }

  @Test
  void stopsOnEosKeepingTheTokenButNotItsText() {
    Completion c =
        run(new Scripted(1, 2, 0, 3), new StopConditions(10, Set.of(0), List.of(), Duration.ZERO));
    assertThat(c.stopReason()).isEqualTo(StopReason.EOS);
    assertThat(c.tokens()).containsExactly(1, 2, 0);
    assertThat(c.text()).isEqualTo("Hello,");
  }

  @Test
  void stopsAtMaxTokens() {
    Scripted m = new Scripted(1, 2, 3, 4);
    Completion c = run(m, StopConditions.maxTokens(3));
    assertThat(c.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
    assertThat(c.tokens()).containsExactly(1, 2, 3);
    assertThat(c.text()).isEqualTo("Hello, wor");
    // No forward pass is spent after the last token.
    assertThat(m.fed).containsExactly(1, 2);
  }

  @Test
  void stopSequenceSpanningTokensEndsTheTextBeforeIt() {
    // "world" is made of " wor" + "ld": the stop sequence "orl" spans both tokens.
    Completion c =
        run(
            new Scripted(1, 3, 4, 8),
            new StopConditions(10, Set.of(), List.of("orl"), Duration.ZERO));
    assertThat(c.stopReason()).isEqualTo(StopReason.STOP_SEQUENCE);
    assertThat(c.tokens()).containsExactly(1, 3, 4);
    assertThat(c.text()).isEqualTo("Hello w");
  }

  @Test
  void earliestOfSeveralStopSequencesWins() {
    Completion c =
        run(
            new Scripted(1, 5, 6, 7, 8),
            new StopConditions(10, Set.of(), List.of("Human:", "\n"), Duration.ZERO));
    assertThat(c.stopReason()).isEqualTo(StopReason.STOP_SEQUENCE);
    assertThat(c.text()).isEqualTo("Hello");
    assertThat(c.tokens()).containsExactly(1, 5);
  }

  @Test
  void eosTakesPrecedenceOverMaxTokensOnTheSameStep() {
    Completion c =
        run(new Scripted(1, 0), new StopConditions(2, Set.of(0), List.of(), Duration.ZERO));
    assertThat(c.stopReason()).isEqualTo(StopReason.EOS);
  }

  @Test
  void timeoutIsCheckedBeforeEachStepWithTheGivenClock() {
    long[] now = {0};
    Scripted m =
        new Scripted(1, 2, 3, 4, 1, 2, 3) {
          @Override
          public float[] next(int token) {
            now[0] += 40_000_000; // every forward pass takes 40 ms
            return super.next(token);
          }
        };
    Completion c =
        run(m, new StopConditions(100, Set.of(), List.of(), Duration.ofMillis(100)), () -> now[0]);
    assertThat(c.stopReason()).isEqualTo(StopReason.TIMEOUT);
    // Steps start at 0, 40 and 80 ms; the step at 120 ms is not taken.
    assertThat(c.tokens()).containsExactly(1, 2, 3);
    assertThat(c.elapsedNanos()).isEqualTo(120_000_000);
  }

  @Test
  void observerSeesEveryStepsLogitsAndChoice() {
    List<String> seen = new ArrayList<>();
    DecodeLoop.run(
        new Scripted(1, 2, 3),
        new int[] {1},
        new DecodeSettings(SamplingSettings.GREEDY, StopConditions.maxTokens(3), 0),
        0,
        DETOK,
        (step, logits, choice) ->
            seen.add(step + ":" + choice.token() + ":" + logits[choice.token()]),
        System::nanoTime);
    assertThat(seen).containsExactly("0:1:10.0", "1:2:10.0", "2:3:10.0");
  }

  @Test
  void acceptingAfterTheStopIsAnError() {
    Generation g =
        new Generation(
            new DecodeSettings(SamplingSettings.GREEDY, StopConditions.maxTokens(1), 0),
            0,
            DETOK,
            System::nanoTime);
    g.accept(new float[] {0, 1});
    assertThat(g.done()).isTrue();
    assertThatThrownBy(() -> g.accept(new float[] {0, 1}))
        .hasMessage("generation already stopped: MAX_TOKENS");
  }

  @Test
  void nanLogitsFromTheModelNameTheStep() {
    Scripted m =
        new Scripted(1, 2, 3) {
          @Override
          public float[] next(int token) {
            float[] v = super.next(token);
            v[4] = Float.NaN;
            return v;
          }
        };
    assertThatThrownBy(() -> run(m, StopConditions.maxTokens(5)))
        .hasMessage("step 1: logit at index 4 is NaN; logits must be finite numbers or -Infinity");
  }
}
