package io.tokendrift.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.analysis.EnvSummary;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.SpecFiles;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The env axis: variables the math library reads at load, each environment's batches run in a
 * forked child JVM with them set (real child processes of the bundled model, no stand-ins).
 */
class EnvAxisTest {
  @TempDir Path dir;

  private static final String GRID =
      "name: env\nprompts: [\"At night the sky is\", \"The weather today is\"]\n"
          + "decoding: {temperature: 0, max_tokens: 6}\n"
          + "axes:\n  batch: {sizes: [1, 4]}\n"
          + "  env:\n    auto: {MKL_CBWR: AUTO}\n    compatible: {MKL_CBWR: COMPATIBLE, OMP_NUM_THREADS: 1}\n";

  @Test
  void environmentsAreReadNamedInPointsAndCheckedWithTheirPlaceInTheFile() throws Exception {
    ExperimentSpec s = ExperimentSpec.read(SpecFiles.write(dir, GRID));
    assertThat(s.axes().envValues()).containsExactly("auto", "compatible");
    assertThat(s.axes().env("compatible").vars())
        .containsEntry("MKL_CBWR", "COMPATIBLE")
        .containsEntry("OMP_NUM_THREADS", "1"); // a number in YAML, a text in the environment
    assertThat(s.points()).hasSize(4);
    assertThat(s.reference().key()).endsWith(",env=auto");
    // Plan order: environments outermost, so each child runs one stretch of the plan.
    List<String> envs = new ArrayList<>();
    new Plan(s).batches().forEach(b -> envs.add(b.env()));
    assertThat(envs.indexOf("compatible")).isGreaterThan(envs.lastIndexOf("auto"));
    // Specs without the axis keep their points and their hash.
    ExperimentSpec old = ExperimentSpec.read(SpecFiles.write(dir, "name: k\nprompts: [\"a b\"]\n"));
    assertThat(old.reference().key()).doesNotContain("env");
    assertThat(old.axes().toString()).doesNotContain("env");

    String head = "name: e\nprompts: [\"a\"]\naxes:\n  env:\n";
    assertThat(SpecFiles.refusal(dir, head + "    x: {PATH: /tmp}\n"))
        .contains(
            "axes.env.x.PATH: 'PATH' may not be set here; allowed: ATEN_CPU_CAPABILITY and"
                + " variables starting with MKL_, OMP_, KMP_, OPENBLAS_, GOMP_, DNNL_, ONEDNN_");
    // libtorch ignores an unknown ATEN_CPU_CAPABILITY with only a warning: refused here instead.
    assertThat(SpecFiles.refusal(dir, head + "    x: {ATEN_CPU_CAPABILITY: avx512f}\n"))
        .contains(
            "axes.env.x.ATEN_CPU_CAPABILITY: 'avx512f' is not a value libtorch knows (it would"
                + " ignore it); allowed: default, avx2, avx512, sve256, vsx, zvector");
    assertThat(SpecFiles.refusal(dir, head + "    X: {MKL_CBWR: AUTO}\n"))
        .contains("axes.env.X: 'X' is not a usable name");
    assertThat(SpecFiles.refusal(dir, head + "    a: {MKL_CBWR: AUTO}\n    b: {MKL_CBWR: AUTO}\n"))
        .contains("axes.env.b: sets the same variables as an earlier environment");
    assertThat(SpecFiles.refusal(dir, head + "    a: {MKL_CBWR: [AUTO]}\n"))
        .contains("axes.env.a.MKL_CBWR: must be a text or number value");
    assertThat(SpecFiles.refusal(dir, head + "    a: AUTO\n"))
        .contains("axes.env.a: must be a mapping of variables to values");
    assertThat(SpecFiles.refusal(dir, head + "    a: {MKL_CBWR: AUTO}\nreference: {env: b}\n"))
        .contains("reference.env: 'b' is not one of axes.env's names: [a]");
    assertThat(
            SpecFiles.refusal(
                dir,
                "name: e\nprompts: [\"a\"]\nengine: {kind: openai, base_url: \"http://127.0.0.1:9\","
                    + " model: m}\naxes:\n  env:\n    a: {MKL_CBWR: AUTO}\n"))
        .contains("axes.env: engine 'openai' answers over HTTP");
  }

  @Test
  void eachEnvironmentRunsInItsOwnChildAndTheTraceSaysWhich() throws Exception {
    Path spec = SpecFiles.write(dir, GRID);
    Path trace = dir.resolve("trace.jsonl");
    List<String> log = new ArrayList<>();
    Runner.Outcome out =
        Runner.run(
            ExperimentSpec.read(spec), Runner.Options.of(trace), Runner.Progress.NONE, log::add);
    assertThat(out.ok()).as(String.join("\n", log)).isEqualTo(8);
    assertThat(out.failed()).isZero();
    Set<Long> pids = new HashSet<>();
    try (TraceReader r = TraceReader.open(trace)) {
      while (r.hasNext()) {
        RunRecord rec = r.next();
        String env = rec.point().get("env");
        assertThat(rec.process()).as(rec.id()).isNotNull();
        assertThat(rec.process().env()).isEqualTo(env);
        assertThat(rec.process().pid()).isNotEqualTo(ProcessHandle.current().pid());
        // The child saw the variables it was started with.
        assertThat(rec.process().vars())
            .containsEntry("MKL_CBWR", env.equals("auto") ? "AUTO" : "COMPATIBLE");
        if (env.equals("compatible")) {
          assertThat(rec.process().vars()).containsEntry("OMP_NUM_THREADS", "1");
        }
        pids.add(rec.process().pid());
      }
    }
    assertThat(pids).hasSize(2); // one child per environment
    assertThat(log).anyMatch(l -> l.matches("env compatible: [0-9,]+ tokens in .*"));

    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    List<EnvSummary.Row> rows = a.environments().rows();
    assertThat(rows).extracting(EnvSummary.Row::env).containsExactly("auto", "compatible");
    for (EnvSummary.Row row : rows) {
      // Per environment: 2 prompts at batch 4 against the same prompts at batch 1.
      assertThat(row.compared()).isEqualTo(2);
    }
    // Every compared run keeps its reference's tokens but at a near-tie the flip rule explains.
    assertOnlyNearTiesDiverge(a);
    assertThat(rows.get(1).vars()).containsEntry("MKL_CBWR", "COMPATIBLE");
  }

  /**
   * Another machine on this one: environments that differ only in the kernels libtorch picks
   * (ATEN_CPU_CAPABILITY) run, each child sees its value, and the report compares them.
   */
  @Test
  void kernelPathsOfOtherCpusRunAsEnvironmentsAndTheReportComparesThem() throws Exception {
    String spec =
        "name: kernels\nprompts: [\"At night the sky is\", \"The capital of France is\"]\n"
            + "decoding: {temperature: 0, max_tokens: 8}\n"
            + "axes:\n  batch: {sizes: [1, 4]}\n"
            + "  env:\n    avx2: {ATEN_CPU_CAPABILITY: avx2}\n"
            + "    default: {ATEN_CPU_CAPABILITY: default}\n";
    Path trace = dir.resolve("kernels.jsonl");
    List<String> log = new ArrayList<>();
    Runner.Outcome out =
        Runner.run(
            ExperimentSpec.read(SpecFiles.write(dir, spec)),
            Runner.Options.of(trace),
            Runner.Progress.NONE,
            log::add);
    assertThat(out.ok()).as(String.join("\n", log)).isEqualTo(8);
    try (TraceReader r = TraceReader.open(trace)) {
      while (r.hasNext()) {
        RunRecord rec = r.next();
        assertThat(rec.process().vars())
            .containsEntry("ATEN_CPU_CAPABILITY", rec.point().get("env"));
      }
    }
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.environments().rows())
        .extracting(EnvSummary.Row::env)
        .containsExactly("avx2", "default");
    // Across environments, the default-kernel runs are compared with the avx2 reference: the same
    // tokens but at a near-tie the flip rule explains.
    assertOnlyNearTiesDiverge(a);
    String md =
        io.tokendrift.report.MarkdownReport.render(
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(io.tokendrift.report.Reports.analysisJson(a)));
    assertThat(md)
        .contains("## Within each environment")
        .contains("CAPABILITY=avx2") // the report escapes the underscores of ATEN_CPU_CAPABILITY
        .contains("CAPABILITY=default");
  }

  /** Every run is a reference, identical to its reference, or diverged at an explained near-tie. */
  static void assertOnlyNearTiesDiverge(Analysis a) {
    assertThat(a.runs())
        .allSatisfy(
            r ->
                assertThat(r.verdict())
                    .isIn(
                        Analyzer.Verdict.REFERENCE,
                        Analyzer.Verdict.IDENTICAL,
                        Analyzer.Verdict.EXPLAINED));
  }

  @Test
  void aChildThatDiesHasItsRunsFailedWithItsLastWordsAndResumeFinishesThem() throws Exception {
    Path spec = SpecFiles.write(dir, GRID);
    Path trace = dir.resolve("trace.jsonl");
    List<String> log = new ArrayList<>();
    Runner.Outcome out = runWithChildrenDyingAfterOneRecord(spec, Runner.Options.of(trace), log);
    // Each child sends one record, then halts: the other three of its runs fail, with the reason.
    assertThat(out.ok()).isEqualTo(2);
    assertThat(out.failed()).isEqualTo(6);
    List<String> errors = new ArrayList<>();
    try (TraceReader r = TraceReader.open(trace)) {
      while (r.hasNext()) {
        RunRecord rec = r.next();
        if (rec.status() == RunRecord.Status.FAILED) {
          errors.add(rec.error());
          assertThat(rec.process()).isNull(); // recorded by the parent: no child answered it
        }
      }
    }
    assertThat(errors)
        .allSatisfy(
            e ->
                assertThat(e)
                    .matches(
                        "the child process for env (auto|compatible) \\(pid [0-9]+\\) exited with"
                            + " code 134 before answering this run; its stderr ended: .*")
                    .contains("fault injection: halting after 1"));

    Runner.Outcome again =
        Runner.run(
            ExperimentSpec.read(spec),
            Runner.Options.of(trace).resuming(),
            Runner.Progress.NONE,
            log::add);
    assertThat(again.ok()).isEqualTo(6);
    assertThat(again.alreadyDone()).isEqualTo(2);
    Analysis a = Analyzer.analyze(List.of(trace), Analyzer.Options.defaults(List.of()));
    assertThat(a.runs())
        .allSatisfy(r -> assertThat(r.verdict()).isNotEqualTo(Analyzer.Verdict.FAILED));
  }

  @Test
  void failFastStopsAtTheFirstFailedBatchNotAfterTheWholeEnvironment() throws Exception {
    Path spec = SpecFiles.write(dir, GRID);
    Path trace = dir.resolve("trace.jsonl");
    List<String> log = new ArrayList<>();
    Runner.Outcome out =
        runWithChildrenDyingAfterOneRecord(spec, Runner.Options.of(trace).failingFast(), log);
    // The child of env auto answers its first batch's run, then dies: its next batch fails and
    // the run stops there. (Before the one run loop, the whole environment's runs were recorded
    // as failed first: 1 ok and 3 failed.)
    assertThat(out.ok()).isEqualTo(1);
    assertThat(out.failed()).isEqualTo(1);
    List<RunRecord> recs = new ArrayList<>();
    try (TraceReader r = TraceReader.open(trace)) {
      r.forEachRemaining(recs::add);
    }
    assertThat(recs).hasSize(2);
    assertThat(recs).allSatisfy(r -> assertThat(r.point()).containsEntry("env", "auto"));
    assertThat(log).contains("--fail-fast: stopping after the first failure");

    // Without --fail-fast the same fault fails the rest of each environment and goes on.
    Path all = dir.resolve("all.jsonl");
    out = runWithChildrenDyingAfterOneRecord(spec, Runner.Options.of(all), log);
    assertThat(out.ok() + out.failed()).isEqualTo(8);
  }

  /** Runs the spec with every forked child halting (exit 134) right after its first record. */
  private static Runner.Outcome runWithChildrenDyingAfterOneRecord(
      Path spec, Runner.Options o, List<String> log) {
    System.setProperty(ForkedMain.FAULT_EXIT_AFTER, "1");
    try {
      return Runner.run(ExperimentSpec.read(spec), o, Runner.Progress.NONE, log::add);
    } finally {
      System.clearProperty(ForkedMain.FAULT_EXIT_AFTER);
    }
  }

  @Test
  void aChildRefusesASpecEditedAfterTheRunStartedWithATypedFailure() throws Exception {
    Path file = SpecFiles.write(dir, GRID);
    ExperimentSpec spec = ExperimentSpec.read(file);
    Plan plan = new Plan(spec);
    List<String> log = new ArrayList<>();
    List<RunRecord> recs = new ArrayList<>();
    try (ForkedExecutor x = new ForkedExecutor(spec, log::add)) {
      // Edited between the parent's planning and the child's start: the child's plan would not
      // be the run's (its batch indices would point at other runs).
      java.nio.file.Files.writeString(file, GRID.replace("max_tokens: 6", "max_tokens: 7"));
      x.execute(plan.batches().get(0), Set.of(), recs::add);
      // Its environment is dead for the rest of the run: no second child, the same reason.
      x.execute(plan.batches().get(1), Set.of(), recs::add);
    }
    assertThat(recs).hasSize(2);
    assertThat(recs)
        .allSatisfy(
            r -> {
              assertThat(r.status()).isEqualTo(RunRecord.Status.FAILED);
              assertThat(r.error())
                  .startsWith(
                      "the child process for env auto could not run: SpecChangedException: ")
                  .contains("changed after the run started")
                  .contains("--force");
            });
    // The child said why on its stderr too, which the parent passed to the log.
    assertThat(log).anyMatch(l -> l.startsWith("[env auto] tokendrift child: SpecChanged"));
  }
}
