package example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tokendrift.engine.Precision;
import io.tokendrift.junit.Stability;
import io.tokendrift.junit.TokenDriftExtension;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Safetensors;
import io.tokendrift.model.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.opentest4j.AssertionFailedError;

/** What a team writes to catch a changed model, against the installed artifact. */
@ExtendWith(TokenDriftExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ModelStabilityTest {
  static final Path BASELINE = Path.of("target", "baselines", "bundled");
  static final String[] PROMPTS = {"The capital of France is", "The cat sat on the"};

  @Test
  @Order(1)
  void theBundledModelRecordsItsBaselineAndPassesAgainstIt(Stability s) {
    s.prompts(PROMPTS)
        .batchSizes(1, 2)
        .maxTokens(8)
        .againstBaseline(BASELINE)
        .recordBaselineIfMissing()
        .assertIdenticalOrNearTiesOnly();
    assertTrue(Files.exists(BASELINE.resolve("trace.jsonl")));
    // DJL was kept offline by the extension itself (this build sets no property).
    assertEquals("true", System.getProperty("ai.djl.offline"));
  }

  @Test
  @Order(2)
  void aCopyWithNudgedWeightsFailsAgainstTheBaseline(Stability s) throws Exception {
    Path nudged = nudgedCopy(Path.of("target", "nudged"));
    AssertionFailedError e =
        assertThrows(
            AssertionFailedError.class,
            () ->
                s.model(nudged)
                    .prompts(PROMPTS)
                    .batchSizes(1, 2)
                    .maxTokens(8)
                    .againstBaseline(BASELINE)
                    .assertIdenticalOrNearTiesOnly());
    assertTrue(e.getMessage().contains("changed beyond numerical noise"), e.getMessage());
    assertTrue(e.getMessage().contains("DRIFT"), e.getMessage());
  }

  @Test
  @Order(3)
  void fp16IsNotIdenticalToFp32(Stability s) {
    AssertionFailedError e =
        assertThrows(
            AssertionFailedError.class,
            () ->
                s.prompts("She poured a cup of")
                    .precisions(Precision.FP32, Precision.FP16)
                    .maxTokens(24)
                    .assertIdentical());
    assertTrue(e.getMessage().contains("not identical"), e.getMessage());
    assertTrue(e.getMessage().contains("precision=fp16"), e.getMessage());
  }

  @ParameterizedTest
  @Order(4)
  @ValueSource(ints = {1, 2})
  void eachInvocationKeepsItsReport(int rows, Stability s) {
    s.prompts("The capital of France is").batchSizes(rows).maxTokens(4).assertIdentical();
  }

  @Test
  @Order(5)
  void theTwoInvocationsLeftTwoReports() throws Exception {
    Path dir = Path.of("target", "tokendrift", "ModelStabilityTest", "eachInvocationKeepsItsReport");
    try (Stream<Path> reports = Files.walk(dir)) {
      assertEquals(
          2, reports.filter(p -> p.getFileName().toString().equals("report.md")).count());
    }
  }

  /** The bundled model with 5% noise on one MLP matrix (what a bad fine-tune or export does). */
  static Path nudgedCopy(Path out) throws Exception {
    Files.createDirectories(out);
    Path b = BundledModel.dir();
    for (String f : List.of("config.json", "tokenizer.json")) {
      Files.copy(b.resolve(f), out.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    Map<String, Tensor> t = Safetensors.read(b.resolve("model.safetensors"));
    Tensor w = t.get("transformer.h.0.mlp.c_fc.weight");
    float[] v = w.data().clone();
    Random g = new Random(15);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] * (1 + 0.05 * g.nextGaussian()));
    }
    t.put(w.name(), new Tensor(w.name(), w.shape(), v));
    Safetensors.write(out.resolve("model.safetensors"), t.values(), Map.of("format", "pt"));
    return out;
  }
}
