package io.tokendrift.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.Point;
import io.tokendrift.spec.SpecFiles;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine axis: one spec puts the DJL engine's CPU run as the reference against the torch
 * engine's (the machine's own PyTorch: Debian's python3-torch here, which .ci/run installs), each
 * point on its own engine, the combinations an engine cannot compute recorded as skipped with the
 * reason.
 */
class EngineAxisTest {
  @TempDir Path dir;

  static final String PYTHON = io.tokendrift.engine.torch.TorchAvailable.PYTHON;

  private static final String GRID =
      "name: engines\n"
          + "prompts: [\"The capital of France is\", \"The cat sat on the\", \"At night the sky is\"]\n"
          + "decoding: {temperature: 0, max_tokens: 16}\n"
          + "axes:\n"
          + "  engine:\n"
          + "    djl: {kind: djl}\n"
          + "    torch: {kind: torch, python: "
          + PYTHON
          + "}\n"
          + "  batch: {sizes: [1, 4]}\n"
          + "  precision: [fp32, bf16]\n";

  @Test
  void enginesAreReadNamedInPointsAndCheckedWithTheirPlaceInTheFile() throws Exception {
    ExperimentSpec s = ExperimentSpec.read(SpecFiles.write(dir, GRID));
    assertThat(s.axes().engineValues()).containsExactly("djl", "torch");
    assertThat(s.axes().engine("torch").spec().options()).containsEntry("python", PYTHON);
    assertThat(s.points()).hasSize(8);
    // The first engine is the reference's unless the spec says otherwise.
    assertThat(s.reference().key()).endsWith(",engine=djl").contains("precision=fp32");
    // bf16 on DJL is in the grid, and refused with the reason; everything else runs.
    List<String> refused = new ArrayList<>();
    for (Point p : s.points()) {
      if (s.refusal(p) != null) {
        refused.add(p.engine() + "/" + p.precision().label() + ": " + s.refusal(p));
      }
    }
    assertThat(refused)
        .hasSize(2)
        .allMatch(r -> r.startsWith("djl/bf16: engine 'djl' does not compute in bf16"));
    // Engines are the plan's outer loop: each runs one stretch.
    List<String> engines = new ArrayList<>();
    new Plan(s).batches().forEach(b -> engines.add(b.engine()));
    assertThat(engines.indexOf("torch")).isGreaterThan(engines.lastIndexOf("djl"));
    // --engine-option goes to the engines that take it; one no engine takes is refused.
    ExperimentSpec w = s.withEngineOptions(Map.of("python", "/opt/venv/bin/python"));
    assertThat(w.axes().engine("torch").spec().options())
        .containsEntry("python", "/opt/venv/bin/python");
    assertThat(w.axes().engine("djl").spec().options()).doesNotContainKey("python");
    assertThat(w.points()).isEqualTo(s.points());
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> s.withEngineOptions(Map.of("colour", "red")))
        .hasMessageContaining("engine option 'colour' is taken by no engine of axes.engine");
    // Specs without the axis keep their points and their hash.
    ExperimentSpec old = ExperimentSpec.read(SpecFiles.write(dir, "name: k\nprompts: [\"a b\"]\n"));
    assertThat(old.reference().key()).doesNotContain("engine");
    assertThat(old.axes().toString()).doesNotContain("engines");

    String head = "name: e\nprompts: [\"a\"]\naxes:\n  engine:\n";
    assertThat(
            SpecFiles.refusal(
                dir,
                "name: e\nprompts: [\"a\"]\nengine: djl\n" + GRID.substring(GRID.indexOf("axes:"))))
        .contains("engine: this spec names its engines under axes.engine");
    assertThat(SpecFiles.refusal(dir, head + "    Big: {kind: djl}\n"))
        .contains("axes.engine.Big: 'Big' is not a usable name");
    assertThat(SpecFiles.refusal(dir, head + "    a: {kind: nope}\n"))
        .contains("axes.engine.a.kind:")
        .contains("nope");
    assertThat(SpecFiles.refusal(dir, head + "    a: {kind: torch, colour: red}\n"))
        .contains("axes.engine.a.colour: engine 'torch' has no option 'colour'; allowed: ");
    assertThat(
            SpecFiles.refusal(
                dir, head + "    a: {kind: openai, base_url: \"http://127.0.0.1:9\", model: m}\n"))
        .contains("axes.engine.a: engine 'openai' answers over HTTP");
    // A value no engine runs is an error, not a grid of skips.
    assertThat(SpecFiles.refusal(dir, head + "    a: djl\n  precision: [fp32, bf16]\n"))
        .contains("axes.engine: no engine of the axis runs the point")
        .contains("precision=bf16")
        .contains("a: engine 'djl' does not compute in bf16");
    // An engine that runs nothing of the grid is an error too.
    assertThat(
            SpecFiles.refusal(
                dir, head + "    a: djl\n    t: torch\n  summation: [\"splitk:2:forward\"]\n"))
        .contains("axes.engine.t: runs none of the grid's points");
    assertThat(SpecFiles.refusal(dir, head + "    a: djl\n    b: torch\nreference: {engine: c}\n"))
        .contains("reference.engine: 'c' is not one of axes.engine's names: [a, b]");
    assertThat(
            SpecFiles.refusal(
                dir,
                head
                    + "    a: djl\n    b: torch\n  precision: [fp32, bf16]\n"
                    + "reference: {engine: a, precision: bf16}\n"))
        .contains("reference: the reference")
        .contains("cannot run: engine 'djl' does not compute in bf16");
    assertThat(SpecFiles.refusal(dir, "name: e\nprompts: [\"a\"]\nreference: {engine: a}\n"))
        .contains("reference.engine: the spec has no axes.engine");
  }

  @Test
  void djlIsTheReferenceForTorchInOneTraceAndBf16OnDjlIsASkipWithTheReason() throws Exception {
    io.tokendrift.engine.torch.TorchAvailable.assume();
    Path trace = dir.resolve("trace.jsonl");
    List<String> log = new ArrayList<>();
    Runner.Outcome out =
        Runner.run(
            ExperimentSpec.read(SpecFiles.write(dir, GRID)),
            Runner.Options.of(trace),
            Runner.Progress.NONE,
            log::add);
    // 8 points x 3 prompts; DJL's two bf16 points skipped.
    assertThat(out.ok()).as(String.join("\n", log)).isEqualTo(18);
    assertThat(out.skipped()).isEqualTo(6);
    assertThat(out.failed()).isZero();
    Map<String, RunRecord> runs = new HashMap<>();
    try (TraceReader r = TraceReader.open(trace)) {
      Map<String, String> manifest = r.header().manifest();
      // Each engine's own settings, under its name.
      assertThat(manifest).containsKey("engines.djl.djl.version");
      assertThat(manifest).containsKey("engines.torch.torch.version");
      while (r.hasNext()) {
        RunRecord rec = r.next();
        Map<String, String> p = rec.point();
        if (rec.status() == RunRecord.Status.SKIPPED) {
          assertThat(p).containsEntry("engine", "djl").containsEntry("precision", "bf16");
          assertThat(rec.error())
              .isEqualTo(
                  "engine 'djl' does not compute in bf16 (bf16 aborts DJL 0.36's JVM)"
                      + " (axes.engine.djl)");
          continue;
        }
        assertThat(rec.status()).isEqualTo(RunRecord.Status.OK);
        runs.put(
            p.get("engine")
                + "/"
                + p.get("batch_size")
                + "/"
                + p.get("precision")
                + "/"
                + rec.promptId(),
            rec);
      }
    }
    // torch fp32 at batch 1 computes what DJL does: the same greedy tokens, except at a near-tie
    // within twice the drift tolerance ("At night the sky is" has planted ties of 1e-7..1e-5 nats,
    // below the float32 noise between two libraries: which CPU decides which way they go).
    for (String prompt : List.of("p1", "p2", "p3")) {
      TokenAgreement.assertSameOrNearTie(
          runs.get("djl/1/fp32/" + prompt), runs.get("torch/1/fp32/" + prompt), 1e-4, prompt);
    }
    // Negative control, on the same records: another prompt's run is a real change at step 0.
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                TokenAgreement.assertSameOrNearTie(
                    runs.get("djl/1/fp32/p1"), runs.get("torch/1/fp32/p2"), 1e-4, "control"))
        .hasMessageContaining("a real change");
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.reference().toString()).contains("engine=djl");
    assertThat(a.count(Verdict.SKIPPED)).isEqualTo(6);
    // The torch fp32 batch-1 runs are compared with DJL's, drift well inside 1e-4.
    List<Analyzer.RunResult> torchFp32 =
        a.compared().stream()
            .filter(r -> r.point().toString().contains("engine=torch"))
            .filter(r -> r.point().toString().contains("precision=fp32"))
            .filter(r -> r.point().toString().contains("batch_size=1,"))
            .toList();
    assertThat(torchFp32).hasSize(3);
    for (Analyzer.RunResult r : torchFp32) {
      assertThat(r.comparison().maxDrift()).as(r.promptId()).isLessThan(1e-4);
      assertThat(r.verdict()).as(r.promptId()).isIn(Verdict.IDENTICAL, Verdict.EXPLAINED);
    }
    assertThat(a.axisFloors()).containsKey("engine");
  }

  @Test
  void environmentsAndEnginesCrossEachChildProcessRunningBothEngines() throws Exception {
    io.tokendrift.engine.torch.TorchAvailable.assume();
    String spec =
        "name: env-engines\n"
            + "prompts: [\"The capital of France is\", \"The cat sat on the\"]\n"
            + "decoding: {temperature: 0, max_tokens: 6}\n"
            + "axes:\n"
            + "  engine:\n"
            + "    djl: {kind: djl}\n"
            + "    torch: {kind: torch, python: no-such-python}\n"
            + "  env:\n"
            + "    auto: {MKL_CBWR: AUTO}\n"
            + "    compatible: {MKL_CBWR: COMPATIBLE}\n";
    Path trace = dir.resolve("env-engines.jsonl");
    List<String> log = new ArrayList<>();
    // The interpreter comes from the command line (--engine-option), as a user would give it: the
    // children must run with it, not with the spec file's.
    ExperimentSpec s =
        ExperimentSpec.read(SpecFiles.write(dir, spec)).withEngineOptions(Map.of("python", PYTHON));
    assertThat(s.points()).hasSize(4);
    Runner.Outcome out = Runner.run(s, Runner.Options.of(trace), Runner.Progress.NONE, log::add);
    assertThat(out.ok()).as(String.join("\n", log)).isEqualTo(8);
    Map<String, Long> pidOfEnv = new HashMap<>();
    Map<String, RunRecord> runs = new HashMap<>();
    Map<String, float[]> logits = new HashMap<>();
    try (TraceReader r = TraceReader.open(trace)) {
      while (r.hasNext()) {
        RunRecord rec = r.next();
        String env = rec.point().get("env");
        String engine = rec.point().get("engine");
        assertThat(rec.process().env()).isEqualTo(env);
        // One child per environment runs both engines' batches.
        Long pid = pidOfEnv.putIfAbsent(env, rec.process().pid());
        if (pid != null) {
          assertThat(rec.process().pid()).isEqualTo(pid);
        }
        runs.put(env + "/" + engine + "/" + rec.promptId(), rec);
        float[] chosen = new float[rec.tokens().length];
        for (int i = 0; i < chosen.length; i++) {
          chosen[i] = rec.steps().chosenLogit(i);
        }
        logits.put(env + "/" + engine + "/" + rec.promptId(), chosen);
      }
    }
    assertThat(pidOfEnv).hasSize(2);
    // Both engines ran in both children: the same greedy tokens, but for a near-tie.
    for (String env : List.of("auto", "compatible")) {
      for (String p : List.of("p1", "p2")) {
        TokenAgreement.assertSameOrNearTie(
            runs.get(env + "/djl/" + p), runs.get(env + "/torch/" + p), 1e-4, env + " " + p);
      }
    }
    // And each engine computed its own logits there: torch's differ from DJL's in the last bits.
    // Whether two libraries' kernels round alike depends on the CPU; where they happen to agree to
    // the bit, this check cannot tell the engines apart and is skipped with the reason.
    for (String env : List.of("auto", "compatible")) {
      org.junit.jupiter.api.Assumptions.assumeFalse(
          java.util.Arrays.equals(logits.get(env + "/torch/p1"), logits.get(env + "/djl/p1")),
          "torch and DJL gave the same bits on this CPU: engines not distinguishable by bits");
    }
  }
}
