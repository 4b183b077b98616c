package io.tokendrift.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SettingsTest {
  @Test
  void refusesNegativeTemperature() {
    assertThatThrownBy(() -> SamplingSettings.of(-0.5, 0, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("temperature (-0.5) must be a finite number >= 0 (0 means greedy)");
  }

  @Test
  void refusesNanAndInfiniteTemperature() {
    assertThatThrownBy(() -> SamplingSettings.of(Double.NaN, 0, 1))
        .hasMessage("temperature (NaN) must be a finite number >= 0 (0 means greedy)");
    assertThatThrownBy(() -> SamplingSettings.of(Double.POSITIVE_INFINITY, 0, 1))
        .hasMessage("temperature (Infinity) must be a finite number >= 0 (0 means greedy)");
  }

  @Test
  void refusesTopPOutsideTheHalfOpenUnitInterval() {
    assertThatThrownBy(() -> SamplingSettings.of(1, 0, 0))
        .hasMessage("top_p (0.0) must be in (0, 1] (1 disables)");
    assertThatThrownBy(() -> SamplingSettings.of(1, 0, 1.5))
        .hasMessage("top_p (1.5) must be in (0, 1] (1 disables)");
    assertThatThrownBy(() -> SamplingSettings.of(1, 0, Double.NaN))
        .hasMessage("top_p (NaN) must be in (0, 1] (1 disables)");
  }

  @Test
  void refusesNegativeTopK() {
    assertThatThrownBy(() -> SamplingSettings.of(1, -3, 1))
        .hasMessage("top_k (-3) must be >= 0 (0 disables)");
  }

  @Test
  void refusesBadStopConditions() {
    assertThatThrownBy(() -> StopConditions.maxTokens(0)).hasMessage("max_tokens (0) must be >= 1");
    assertThatThrownBy(() -> new StopConditions(5, Set.of(), List.of("ok", ""), Duration.ZERO))
        .hasMessage("stop[1] must be a non-empty string");
    assertThatThrownBy(() -> new StopConditions(5, Set.of(-1), List.of(), Duration.ZERO))
        .hasMessage("eos id (-1) must be >= 0");
    assertThatThrownBy(() -> new StopConditions(5, Set.of(), List.of(), Duration.ofSeconds(-1)))
        .hasMessage("timeout (PT-1S) must be >= 0 (0 means none)");
  }

  @Test
  void boundaryValuesAreAccepted() {
    assertThat(SamplingSettings.of(0, 0, 1).greedy()).isTrue();
    assertThat(SamplingSettings.of(1e-6, Integer.MAX_VALUE, Double.MIN_VALUE).greedy()).isFalse();
  }
}
