package io.tokendrift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

public class ExplainCommandTest {
  /** The exit code of a command and what it printed. */
  public record Result(int code, String out, String err) {}

  /** Runs the real CLI in-process: the helper every command test shares. */
  public static Result run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void seedExerciseTopKTwoShowsTheRenormalisedPair() {
    Result r = run("explain", "--logits", "3,2,1,0.5", "--top-k", "2");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("After top-k (k = 2), renormalised")
        .containsPattern("\\s0\\s+0\\.7311\\s+\\*")
        .containsPattern("\\s1\\s+0\\.2689\\s+\\*")
        .containsPattern("\\s2\\s+0\\.0000\\n");
  }

  @Test
  void temperatureTablePrintsTrueSoftmaxValues() {
    Result r = run("explain", "--logits", "4,2,1", "--temperatures", "0.1,1,2");
    assertThat(r.code()).isZero();
    assertThat(r.out()).containsPattern("0\\s+4\\.0000\\s+100\\.0%\\s+84\\.4%\\s+62\\.9%");
    assertThat(r.out()).containsPattern("1\\s+2\\.0000\\s+0\\.0%\\s+11\\.4%\\s+23\\.1%");
    assertThat(r.out()).containsPattern("2\\s+1\\.0000\\s+0\\.0%\\s+4\\.2%\\s+14\\.0%");
  }

  @Test
  void greedyNamesTheArgmax() {
    Result r = run("explain", "--logits", "1,3,3", "--temperature", "0");
    assertThat(r.out()).contains("Temperature 0: greedy decoding, token 1");
  }

  @Test
  void samplesAreComparedWithExpectedFrequencies() throws Exception {
    Result r =
        run(
            "explain",
            "--logits",
            "3,2,1,0.5",
            "--top-k",
            "2",
            "--samples",
            "5000",
            "--seed",
            "7",
            "--json");
    assertThat(r.code()).isZero();
    JsonNode root = new ObjectMapper().readTree(r.out());
    JsonNode s = root.get("samples");
    assertThat(s.get("n").asInt()).isEqualTo(5000);
    assertThat(s.get("observed").get(0).asLong() + s.get("observed").get(1).asLong())
        .isEqualTo(5000);
    assertThat(s.get("observed").get(2).asLong()).isZero();
    assertThat(s.get("expected").get(0).asDouble())
        .isCloseTo(5000 * 0.7310585786, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(s.get("degrees_of_freedom").asInt()).isEqualTo(1);
    assertThat(s.get("p_value").asDouble()).isGreaterThan(0.001).isLessThanOrEqualTo(1);
    assertThat(root.get("kept").toString()).isEqualTo("[0,1]");
    // The same seed prints the same draws: the output is reproducible byte for byte.
    assertThat(
            run(
                    "explain",
                    "--logits",
                    "3,2,1,0.5",
                    "--top-k",
                    "2",
                    "--samples",
                    "5000",
                    "--seed",
                    "7",
                    "--json")
                .out())
        .isEqualTo(r.out());
  }

  @Test
  void badValuesExitTwoWithTheParameterNamed() {
    Result r = run("explain", "--logits", "1,2", "--top-p", "1.5");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("top_p (1.5) must be in (0, 1] (1 disables)");
    Result t = run("explain", "--logits", "1,2", "--temperature", "-0.5");
    assertThat(t.code()).isEqualTo(2);
    assertThat(t.err()).contains("temperature (-0.5) must be a finite number >= 0");
    Result nan = run("explain", "--logits", "1,NaN");
    assertThat(nan.code()).isEqualTo(2);
    assertThat(nan.err()).contains("logit at index 1 is NaN");
    Result none = run("explain");
    assertThat(none.code()).isEqualTo(2);
    assertThat(none.err()).contains("give exactly one of --logits and --logits-file");
  }

  @Test
  void logitsFileErrorsNameLineAndColumn(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("logits.txt");
    Files.writeString(f, "3, 2\n1, abc\n");
    Result r = run("explain", "--logits-file", f.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err())
        .contains(f + ":2:4: 'abc' is not a number; expected logits separated by commas or spaces");
    Files.writeString(f, "3 2\n1\n0.5\n");
    Result ok = run("explain", "--logits-file", f.toString(), "--top-k", "2");
    assertThat(ok.code()).isZero();
    assertThat(ok.out()).contains("0.7311");
  }

  @Test
  void aTopKAboveTheVocabularySaysItWasClamped() {
    Result r = run("explain", "--logits", "3,2,1", "--top-k", "10");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("After top-k (k = 10, clamped to the vocabulary of 3: nothing removed)");
    Result j = run("explain", "--logits", "3,2,1", "--top-k", "10", "--json");
    assertThat(j.out()).contains("\"top_k_effective\"");
  }
}
