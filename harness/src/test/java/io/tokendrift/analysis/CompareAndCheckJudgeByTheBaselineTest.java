package io.tokendrift.analysis;

import static io.tokendrift.analysis.SyntheticTraces.BATCH4;
import static io.tokendrift.analysis.SyntheticTraces.REF;
import static io.tokendrift.analysis.SyntheticTraces.fill;
import static io.tokendrift.analysis.SyntheticTraces.logits;
import static io.tokendrift.analysis.SyntheticTraces.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.check.Baseline;
import io.tokendrift.check.Check;
import io.tokendrift.trace.RunRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A candidate that adds noise must not raise the bar it is judged by: compare and check take the
 * explained threshold and the drift tolerance from the baseline's floor alone.
 */
class CompareAndCheckJudgeByTheBaselineTest {
  @TempDir Path dir;

  static final int STEPS = 8;

  /** Three prompts at the reference point and at batch 4; batch-4 logits shifted by {@code d}. */
  static List<RunRecord> experiment(float batchDrift) {
    double[] margins = new double[STEPS];
    java.util.Arrays.fill(margins, 1.0);
    int[] tokens = new int[STEPS];
    for (int i = 0; i < STEPS; i++) {
      tokens[i] = SyntheticTraces.refToken(i);
    }
    List<RunRecord> out = new ArrayList<>();
    for (String p : List.of("p0", "p1", "p2")) {
      out.add(run("ref-" + p, p, REF, 0, tokens, logits(margins), fill(STEPS, 0f), -1));
      out.add(run("b4-" + p, p, BATCH4, 0, tokens, logits(margins), fill(STEPS, batchDrift), -1));
    }
    return out;
  }

  Path write(String name, float batchDrift) throws Exception {
    Path d = dir.resolve(name);
    Files.createDirectories(d);
    Path t = d.resolve(Baseline.TRACE);
    SyntheticTraces.write(t, SyntheticTraces.header(2, "0"), experiment(batchDrift));
    Baseline.writeManifest(d, SyntheticTraces.header(2, "0"));
    return t;
  }

  @Test
  void aNoisierCandidateIsJudgedByTheBaselinesFloor() throws Exception {
    Path a = write("a", 1e-5f); // the baseline: batch 4 moves logits by 1e-5
    Path b = write("b", 0.01f); // the candidate: batch 4 now moves them by 0.01 (its own floor)
    double aFloor =
        Analyzer.analyze(List.of(a), Analyzer.Options.defaults(List.of())).experimentFloor();
    double bFloor =
        Analyzer.analyze(List.of(b), Analyzer.Options.defaults(List.of())).experimentFloor();
    assertThat(aFloor).isLessThan(2e-5);
    assertThat(bFloor).isGreaterThan(0.009);

    // check: the floor and default tolerance are the baseline's, so the three noisier runs fail.
    Check.Result r =
        Check.run(Baseline.open(a.getParent()), b, Check.Options.DEFAULTS, i -> "t" + i);
    assertThat(r.floor()).isEqualTo(aFloor);
    assertThat(r.tolerance()).isEqualTo(Compare.defaultTolerance(aFloor)).isLessThan(2e-4);
    assertThat(r.count(Check.Verdict.IDENTICAL)).isEqualTo(3);
    assertThat(r.count(Check.Verdict.DRIFT)).isEqualTo(3);
    assertThat(r.pass()).isFalse();
    // An explicit tolerance still rules.
    assertThat(
            Check.run(Baseline.open(a.getParent()), b, new Check.Options(0.1, 0.1), i -> "t" + i)
                .pass())
        .isTrue();

    // compare: the same, from A alone.
    Compare c = Compare.of(List.of(a), List.of(b), Analyzer.Options.defaults(List.of()));
    assertThat(c.tolerance()).isEqualTo(r.tolerance());
    assertThat(c.drifted()).extracting(Compare.Pair::id).containsExactly("b4-p0", "b4-p1", "b4-p2");
    assertThat(c.count(Analyzer.Verdict.UNEXPLAINED)).isZero();
    assertThat(c.changed()).isTrue();
    // B against itself: no change.
    Compare same = Compare.of(List.of(b), List.of(b), Analyzer.Options.defaults(List.of()));
    assertThat(same.changed()).isFalse();
  }
}
