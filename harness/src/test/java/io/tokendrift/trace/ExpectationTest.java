package io.tokendrift.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Expected answers: what counts as the answer part, and when it is right. */
class ExpectationTest {
  @Test
  void exactTextIsTheFirstLineWithoutTrailingPunctuation() {
    Expectation e = new Expectation("Paris", null, List.of(), null, null);
    assertThat(e.correct(" Paris.\nQ: And Spain?")).isTrue();
    assertThat(e.correct(" Paris, of course")).isFalse(); // the whole first line is the answer
    assertThat(e.correct("\n\nParis!")).isTrue(); // leading blank lines trimmed first
    assertThat(e.parsed(" Paris.\nmore")).isEqualTo("Paris");
  }

  @Test
  void aRegexIsFoundInTheAnswerPartAndItsGroupIsTheParsedAnswer() {
    Expectation e = new Expectation(null, "\\b(Lima)\\b", List.of(), null, null);
    assertThat(e.correct(" It is Lima, in Peru")).isTrue();
    assertThat(e.correct(" It is Cusco\nLima")).isFalse(); // Lima is not on the first line
    assertThat(e.parsed(" It is Lima")).isEqualTo("Lima");
    assertThat(e.parsed(" Cusco")).isEmpty();
  }

  @Test
  void choicesTakeTheEarliestAndExtractPicksThePart() {
    Expectation e =
        new Expectation(null, null, List.of("bear", "fox"), "bear", "named (\\w+)|a (\\w+)");
    // extract: group 1 of the first match.
    assertThat(e.answerPart(" little bear named Vera")).isEqualTo("Vera");
    Expectation c = new Expectation(null, null, List.of("bear", "fox"), "bear", null);
    assertThat(c.parsed(" fox and a bear")).isEqualTo("fox");
    assertThat(c.correct(" bear")).isTrue();
    assertThat(c.correct(" fox")).isFalse();
    assertThat(c.parsed(" owl")).isEmpty();
    // On a tie of positions the longer choice wins: "bear cub" over "bear".
    Expectation t = new Expectation(null, null, List.of("bear", "bear cub"), "bear cub", null);
    assertThat(t.parsed(" bear cub")).isEqualTo("bear cub");
  }

  @Test
  void itTravelsAsJsonAndRefusesWhatCannotBeJudged() {
    Expectation e = new Expectation(null, null, List.of("A", "B"), "B", "\\(([AB])\\)");
    assertThat(Expectation.parse(e.json())).isEqualTo(e);
    assertThat(e.json())
        .isEqualTo("{\"choices\":[\"A\",\"B\"],\"answer\":\"B\",\"extract\":\"\\\\(([AB])\\\\)\"}");
    assertThatThrownBy(() -> new Expectation("x", "y", List.of(), null, null))
        .hasMessage("give exactly one of text, regex, choices");
    assertThatThrownBy(() -> new Expectation(null, null, List.of("A", "B"), "C", null))
        .hasMessage("answer must be one of the choices A, B");
  }
}
