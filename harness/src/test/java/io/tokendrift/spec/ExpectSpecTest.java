package io.tokendrift.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A prompt's expect: read, refused where it cannot be judged, and part of the spec's hash. */
class ExpectSpecTest {
  @TempDir Path dir;

  private String refusal(String expect) throws Exception {
    return SpecFiles.refusal(
        dir,
        "name: e\nprompts:\n  - {id: a, text: \"The cat sat on the\", expect: " + expect + "}\n");
  }

  @Test
  void expectationsAreReadAndEnterTheHashOnlyWhenPresent() throws Exception {
    ExperimentSpec with =
        ExperimentSpec.read(
            SpecFiles.write(
                dir,
                "name: e\nprompts:\n  - {id: a, text: \"The cat sat on the\", expect: mat}\n"
                    + "  - {id: b, text: \"x y\", expect: {regex: \"^ ?y\"}}\n  - \"z\"\n"));
    assertThat(with.expectations())
        .containsEntry("a", "{\"text\":\"mat\"}")
        .containsEntry("b", "{\"regex\":\"^ ?y\"}")
        .hasSize(2);
    ExperimentSpec without =
        ExperimentSpec.read(
            SpecFiles.write(
                dir,
                "name: e\nprompts:\n  - {id: a, text: \"The cat sat on the\"}\n  - {id: b, text: \"x y\"}\n  - \"z\"\n"));
    assertThat(without.expectations()).isEmpty();
    assertThat(with.hash()).isNotEqualTo(without.hash());
  }

  @Test
  void expectationsThatCannotBeJudgedAreRefusedWithTheirLocation() throws Exception {
    assertThat(refusal("{choices: [a, b], answer: c}"))
        .contains("prompts[0].expect: answer must be one of the choices a, b");
    assertThat(refusal("{text: a, regex: b}"))
        .contains("prompts[0].expect: give exactly one of text, regex, choices");
    assertThat(refusal("{regex: \"(\"}"))
        .contains("prompts[0].expect.regex: is not a regular expression: Unclosed group");
    assertThat(refusal("{choices: [a]}"))
        .contains("prompts[0].expect.choices: must be a list of at least two choices");
    assertThat(refusal("{answer_is: a}"))
        .contains("prompts[0].expect.answer_is: unknown key; allowed here: ");
    assertThat(refusal("[a]")).contains("prompts[0].expect: must be the expected answer");
  }
}
