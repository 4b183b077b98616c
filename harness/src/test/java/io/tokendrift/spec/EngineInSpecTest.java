package io.tokendrift.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.FixedAxesTestProvider;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spec's {@code engine} key and the refusal of axes an engine cannot vary. */
class EngineInSpecTest {
  @TempDir Path dir;

  private Path write(String yaml) throws Exception {
    return SpecFiles.write(dir, yaml);
  }

  private String refusal(String yaml) throws Exception {
    return SpecFiles.refusal(dir, yaml);
  }

  @Test
  void theEngineDefaultsToDjlAndIsFoundThroughTheFactory() throws Exception {
    ExperimentSpec s = ExperimentSpec.read(write("name: t\nprompts: [a]\n"));
    assertThat(s.engine()).isEqualTo(EngineSpec.DEFAULT);
    assertThat(Engines.kinds()).contains("djl", FixedAxesTestProvider.KIND);
    assertThat(Engines.provider("djl").axes()).hasSize(8);
  }

  @Test
  void namingTheDefaultEngineKeepsTheSpecHash() throws Exception {
    // Traces recorded before engines could be named must still resume under the same spec.
    String plain = SpecHash.of(ExperimentSpec.read(write("name: t\nprompts: [a]\n")));
    String named = SpecHash.of(ExperimentSpec.read(write("name: t\nengine: djl\nprompts: [a]\n")));
    String other =
        SpecHash.of(
            ExperimentSpec.read(
                write("name: t\nengine: {kind: fixed-test, url: x}\nprompts: [a]\n")));
    assertThat(named).isEqualTo(plain);
    assertThat(other).isNotEqualTo(plain);
  }

  @Test
  void engineOptionsAreKeptSortedAsText() throws Exception {
    ExperimentSpec s =
        ExperimentSpec.read(
            write("name: t\nengine:\n  kind: fixed-test\n  url: http://h:1\nprompts: [a]\n"));
    assertThat(s.engine()).isEqualTo(new EngineSpec("fixed-test", Map.of("url", "http://h:1")));
    assertThat(s.engine().toString()).isEqualTo("fixed-test{url=http://h:1}");
  }

  @Test
  void anUnknownEngineOrOptionIsRefusedWithWhatIsAllowed() throws Exception {
    assertThat(refusal("name: t\nengine: vllm\nprompts: [a]\n"))
        .isEqualTo(
            "SPEC:2:1: engine: engine 'vllm' is not known; allowed: djl, fixed-test, openai, torch");
    assertThat(refusal("name: t\nengine: {kind: nope}\nprompts: [a]\n"))
        .isEqualTo(
            "SPEC:2:10: engine.kind: engine 'nope' is not known; allowed: djl, fixed-test, openai, torch");
    assertThat(refusal("name: t\nengine: {kind: djl, url: x}\nprompts: [a]\n"))
        .isEqualTo("SPEC:2:21: engine.url: engine 'djl' has no option 'url'; allowed: none");
    assertThat(refusal("name: t\nengine: {kind: fixed-test, url: [1]}\nprompts: [a]\n"))
        .isEqualTo("SPEC:2:28: engine.url: must be a string, number or true/false; got a list");
  }

  @Test
  void anAxisTheEngineCannotVaryIsRefusedNamingTheEngine() throws Exception {
    String head = "name: t\nengine: fixed-test\nprompts: [a]\naxes:\n";
    assertThat(refusal(head + "  threads: [1, 2]\n"))
        .isEqualTo(
            "SPEC:5:3: axes.threads: engine 'fixed-test' cannot vary threads (it stays 0);"
                + " axes it can vary: batch_size, batch_position");
    assertThat(refusal(head + "  precision: [fp16]\n"))
        .isEqualTo(
            "SPEC:5:3: axes.precision: engine 'fixed-test' cannot vary precision (it stays fp32);"
                + " axes it can vary: batch_size, batch_position");
    assertThat(refusal(head + "  batch: {sizes: [1, 8]}\n"))
        .isEqualTo(
            "SPEC:5:22: axes.batch.sizes[1]: (8) is more rows than engine 'fixed-test' runs in"
                + " one batch; allowed: [1, 4]");
    // What the engine can vary is accepted.
    ExperimentSpec ok =
        ExperimentSpec.read(write(head + "  batch: {sizes: [1, 4], positions: [first, last]}\n"));
    assertThat(ok.points()).hasSize(3);
  }

  @Test
  void theFactoryRefusesUnknownKindsAndOptions() {
    assertThatThrownBy(() -> Engines.provider("x"))
        .hasMessage("engine 'x' is not known; allowed: djl, fixed-test, openai, torch");
    assertThatThrownBy(() -> Engines.check(new EngineSpec("djl", Map.of("a", "1"))))
        .hasMessage("engine 'djl' has no option 'a'; allowed: none");
  }
}
