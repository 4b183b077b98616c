package io.tokendrift.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** check says when its baseline came from another machine or math path, and what it tolerated. */
class MachineNoteTest {
  static Check.RunVerdict v(String prompt, Check.Verdict verdict, boolean pass, double drift) {
    return new Check.RunVerdict("id-" + prompt, prompt, "batch_size=1", verdict, pass, "m", drift);
  }

  @Test
  void anotherCpuOrMathPathIsNamedWithTheBitDifferencesAndTheToleratedDivergences() {
    Map<String, String[]> changes = new TreeMap<>();
    changes.put("cpu.model", new String[] {"Intel Xeon", "AMD EPYC"});
    changes.put("env.MKL_CBWR", new String[] {null, "COMPATIBLE"});
    changes.put("tokendrift.commit", new String[] {"abc", "def"});
    Check.Result r =
        new Check.Result(
            "x",
            List.of(
                v("sky", Check.Verdict.EXPLAINED, true, 3e-6),
                v("cat", Check.Verdict.IDENTICAL, true, 1e-6),
                v("dog", Check.Verdict.IDENTICAL, true, 0)),
            changes,
            4e-6,
            1e-4,
            1,
            true);
    assertThat(r.machineChanges()).containsExactly("cpu.model", "env.MKL_CBWR");
    // Expected text: written from the three verdicts above (2 of 3 with drift > 0, max 3e-6;
    // Java's %.3g prints 1e-4 as 0.000100).
    assertThat(r.machineNote())
        .hasValue(
            "The baseline was recorded on another machine or math-library path (cpu.model Intel"
                + " Xeon -> AMD EPYC; env.MKL_CBWR (none) -> COMPATIBLE): bit differences are"
                + " expected there. 2 of 3 runs differ in bits (max |Δlogit| 3.00e-06, tolerance"
                + " 0.000100); 1 diverged at near-ties the flip rule explains and were tolerated:"
                + " sky at batch_size=1.");
    assertThat(CheckOutputs.markdown(r)).contains("another machine or math-library path");
    assertThat(CheckOutputs.junitXml(r)).contains("<property name=\"machine.note\"");
  }

  @Test
  void theSameMachineGetsNoNote() {
    Map<String, String[]> changes = new TreeMap<>();
    changes.put("tokendrift.commit", new String[] {"abc", "def"});
    Check.Result r =
        new Check.Result(
            "x", List.of(v("a", Check.Verdict.IDENTICAL, true, 0)), changes, 0, 1e-4, 0, true);
    assertThat(r.machineNote()).isEmpty();
    assertThat(CheckOutputs.markdown(r)).doesNotContain("another machine");
  }
}
