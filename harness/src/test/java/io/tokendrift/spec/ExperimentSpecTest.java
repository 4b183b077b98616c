package io.tokendrift.spec;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.decode.DrawMethod;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExperimentSpecTest {
  @TempDir Path dir;

  private Path write(String yaml) throws Exception {
    return SpecFiles.write(dir, yaml);
  }

  private String refusal(String yaml) throws Exception {
    return SpecFiles.refusal(dir, yaml);
  }

  @Test
  void readsAFullSpecWithDefaultsForMissingAxes() throws Exception {
    Files.writeString(dir.resolve("prompts.txt"), "# comment\nFrom a file\n\nSecond line\n");
    ExperimentSpec s =
        ExperimentSpec.read(
            write(
                """
                name: full
                prompts:
                  - "The capital of France is"
                  - {id: cat, text: "The cat sat on the"}
                prompts_file: prompts.txt
                decoding:
                  temperature: 0.7
                  top_k: 50
                  top_p: 0.9
                  method: gumbel
                  max_tokens: 12
                  stop: ["\\n"]
                  seeds: [1, 2]
                axes:
                  batch: {sizes: [1, 4], positions: [first, last]}
                  summation: [native, "splitk:4:pairwise"]
                  threads: [1, 2]
                  repeats: 3
                reference: {summation: "splitk:4:pairwise", threads: 2}
                record: {top_k: 8, full_logits: true}
                """));
    assertThat(s.name()).isEqualTo("full");
    assertThat(s.model()).isEqualTo("bundled");
    assertThat(s.prompts())
        .extracting(ExperimentSpec.Prompt::id)
        .containsExactly("p1", "cat", "p3", "p4");
    assertThat(s.prompts().get(2).text()).isEqualTo("From a file");
    assertThat(s.decoding().method()).isEqualTo(DrawMethod.GUMBEL);
    assertThat(s.decoding().stop()).containsExactly("\n");
    assertThat(s.decoding().seeds()).containsExactly(1L, 2L);
    assertThat(s.axes().devices()).containsExactly(DeviceSpec.CPU);
    assertThat(s.axes().precisions()).containsExactly(Precision.FP32);
    assertThat(s.axes().positionsFor(1)).containsExactly(0);
    assertThat(s.axes().positionsFor(4)).containsExactly(0, 3);
    // batch points: 1@0, 4@0, 4@3 = 3; x 2 summations x 2 threads = 12 points
    assertThat(s.points()).hasSize(12);
    assertThat(s.gridSize()).isEqualTo(12L * 4 * 2 * 3);
    assertThat(s.reference().summation()).isEqualTo(SummationOrder.parse("splitk:4:pairwise"));
    assertThat(s.reference().threads()).isEqualTo(2);
    assertThat(s.reference().batchSize()).isEqualTo(1);
    assertThat(s.record().topK()).isEqualTo(8);
    assertThat(s.record().fullLogits()).isTrue();
  }

  @Test
  void everyShippedExperimentReads() throws Exception {
    Path experiments = Path.of("..", "experiments");
    try (var files = Files.list(experiments)) {
      List<Path> specs = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
      assertThat(specs).hasSizeGreaterThanOrEqualTo(6);
      for (Path p : specs) {
        ExperimentSpec s = ExperimentSpec.read(p);
        assertThat(s.gridSize()).as(p.toString()).isPositive();
        if (s.remote()) {
          assertThat(s.provider().points()).contains(s.provider().reference());
        } else {
          assertThat(s.points()).contains(s.reference());
        }
      }
    }
  }

  @Test
  void unknownKeyNamesItsPlaceAndTheAllowedKeys() throws Exception {
    assertThat(
            refusal(
                "name: t\nprompts: [\"a\"]\naxes:\n  batch:\n    sizes: [1, 4]\n"
                    + "    positon: [first]\n"))
        .isEqualTo("SPEC:6:5: axes.batch.positon: unknown key; allowed here: positions, sizes");
    assertThat(refusal("name: t\nprompts: [\"a\"]\ncolour: red\n"))
        .isEqualTo(
            "SPEC:3:1: colour: unknown key; allowed here: axes, compare_within, decoding, engine, model, name, prompts,"
                + " prompts_file, record, reference, truth");
  }

  @Test
  void wrongTypesAreRefused() throws Exception {
    assertThat(refusal("name: t\nprompts: [\"a\"]\ndecoding:\n  max_tokens: \"many\"\n"))
        .isEqualTo(
            "SPEC:4:3: decoding.max_tokens: must be an integer in [1, 100000]; got the string"
                + " \"many\"");
    assertThat(refusal("name: t\nprompts: [\"a\"]\naxes:\n  batch_invariant: [yes please]\n"))
        .isEqualTo(
            "SPEC:4:21: axes.batch_invariant[0]: must be true or false; got the string \"yes"
                + " please\"");
    assertThat(refusal("name: t\nprompts: 3\n"))
        .isEqualTo("SPEC:2:1: prompts: must be a non-empty list of strings or {id, text} mappings");
    assertThat(refusal("name: t\nprompts: [\"a\"]\ndecoding:\n  temperature: hot\n"))
        .isEqualTo("SPEC:4:3: decoding.temperature: must be a number; got the string \"hot\"");
  }

  @Test
  void outOfRangeValuesAreRefused() throws Exception {
    assertThat(refusal("name: t\nprompts: [\"a\"]\ndecoding:\n  top_p: 1.5\n"))
        .isEqualTo("SPEC:4:3: decoding.top_p: (1.5) must be in (0, 1]");
    assertThat(refusal("name: t\nprompts: [\"a\"]\ndecoding:\n  temperature: -1\n"))
        .isEqualTo("SPEC:4:3: decoding.temperature: (-1.0) must be a finite number >= 0");
    assertThat(refusal("name: t\nprompts: [\"a\"]\naxes:\n  repeats: 0\n"))
        .isEqualTo("SPEC:4:3: axes.repeats: (0) is out of range; allowed: [1, 1000]");
    assertThat(
            refusal(
                "name: t\nprompts: [\"a\"]\naxes:\n  batch:\n    sizes: [1, 4]\n"
                    + "    positions: [0, 3]\n"))
        .isEqualTo(
            "SPEC:6:20: axes.batch.positions[1]: row 3 does not fit batch size 1; allowed: first,"
                + " middle, last or a row number in [0, 0]");
    assertThat(refusal("name: t\nprompts: [\"a\"]\naxes:\n  batch: {sizes: [0]}\n"))
        .isEqualTo("SPEC:4:19: axes.batch.sizes[0]: (0) is out of range; allowed: [1, 256]");
    assertThat(refusal("name: t\nprompts: [\"a\"]\nrecord: {top_k: 0}\n"))
        .isEqualTo("SPEC:3:10: record.top_k: (0) is out of range; allowed: [1, 1024]");
  }

  @Test
  void unknownAxisValuesAreRefused() throws Exception {
    assertThat(refusal("name: t\nprompts: [\"a\"]\naxes:\n  device: [tpu]\n"))
        .isEqualTo("SPEC:4:12: axes.device[0]: 'tpu' is not known; allowed: cpu, gpu, gpu:N");
    assertThat(
            refusal(
                "name: t\nprompts: [\"a\"]\naxes:\n  summation: [native, \"splitk:0:forward\"]\n"))
        .isEqualTo(
            "SPEC:4:23: axes.summation[1]: summation 'splitk:0:forward': S (0) must be >= 1");
    assertThat(refusal("name: t\nprompts: [\"a\"]\naxes:\n  precision: [bf16]\n"))
        .isEqualTo(
            "SPEC:4:15: axes.precision[0]: 'bf16' is not allowed; allowed: fp32, fp16, fp64 (bf16 aborts"
                + " DJL 0.36's JVM; engine torch computes in bf16)");
    assertThat(refusal("name: t\nprompts: [\"a\"]\ndecoding:\n  method: dice\n"))
        .isEqualTo("SPEC:4:3: decoding.method: 'dice' is not known; allowed: inverse_cdf, gumbel");
  }

  @Test
  void structuralProblemsAreRefused() throws Exception {
    assertThat(refusal("prompts: [\"a\"]\n"))
        .isEqualTo("SPEC:1:1: name: missing; a string is required");
    assertThat(refusal("name: t\nname: u\nprompts: [\"a\"]\n"))
        .isEqualTo("SPEC:2:5: not valid YAML: duplicate key 'name'");
    assertThat(refusal("name: t\nprompts: [\"a\"\n"))
        .isEqualTo(
            "SPEC:2:14: not valid YAML: while parsing a flow sequence; expected ',' or ']', but got"
                + " <stream end>");
    assertThat(refusal("name: t\nprompts: [\"a\", \"a\"]\n"))
        .isEqualTo("SPEC:2:1: prompts: prompt 'a' is listed twice");
    assertThat(refusal("name: \"a b\"\nprompts: [\"a\"]\n"))
        .isEqualTo(
            "SPEC:1:1: name: 'a b' is not allowed; use 1-64 letters, digits, '.', '_' or '-' (it"
                + " names the report folder)");
    assertThat(refusal("name: t\n"))
        .isEqualTo(
            "SPEC:1:1: missing key 'prompts' (a list) or 'prompts_file' (one prompt per line)");
    assertThat(
            refusal(
                "name: t\nprompts: [\"a\"]\naxes:\n  threads: [1, 2]\nreference:\n  threads: 4\n"))
        .isEqualTo(
            "SPEC:5:1: reference: the point device=cpu,batch_size=1,batch_position=0,"
                + "summation=native,precision=fp32,threads=4,batch_invariant=false is not in the"
                + " grid; the reference must be one of its points");
  }
}
