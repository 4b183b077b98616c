package io.tokendrift.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokendrift.engine.EnvironmentException;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceMerge;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs small experiments on the bundled model end to end. */
@Tag("numerics")
class RunnerTest {
  @TempDir Path dir;

  static final String SMALL =
      """
      name: small
      prompts:
        - "The capital of France is"
        - "The cat sat on the"
        - "She poured a cup of"
      decoding:
        temperature: 0
        max_tokens: 6
      axes:
        batch: {sizes: [1, 4], positions: [first, last]}
        repeats: 2
      """;

  Path spec(String yaml) throws Exception {
    Path p = dir.resolve("spec.yaml");
    Files.writeString(p, yaml);
    return p;
  }

  static List<RunRecord> records(Path trace) {
    List<RunRecord> out = new ArrayList<>();
    try (TraceReader r = TraceReader.open(trace)) {
      r.forEachRemaining(out::add);
    }
    return out;
  }

  static Runner.Options options(Path trace) {
    return Runner.Options.of(trace);
  }

  static Runner.Outcome run(Plan plan, Runner.Options o) {
    return Runner.run(plan, o, Runner.Progress.NONE, line -> {});
  }

  @Test
  void recordsEveryRunOfTheGridOnceWithItsSteps() throws Exception {
    Plan plan = new Plan(ExperimentSpec.read(spec(SMALL)));
    // Batch points 1@0, 4@0, 4@3 = 3 points x 3 prompts x 2 repeats.
    assertThat(plan.runs()).hasSize(18);
    // Batch 4 with 3 prompts: a filler tops up every rotation.
    assertThat(plan.batches())
        .filteredOn(b -> b.rows().size() == 4)
        .allMatch(b -> b.rowPromptIds().contains(null));
    Path trace = dir.resolve("t.jsonl");
    Runner.Outcome o = run(plan, options(trace));
    assertThat(o.ok()).isEqualTo(18);
    assertThat(o.failed()).isZero();
    List<RunRecord> recs = records(trace);
    assertThat(recs).extracting(RunRecord::id).doesNotHaveDuplicates();
    assertThat(recs.stream().map(RunRecord::id).collect(Collectors.toSet()))
        .isEqualTo(plan.runs().stream().map(Plan.Run::id).collect(Collectors.toSet()));
    for (RunRecord r : recs) {
      assertThat(r.status()).isEqualTo(RunRecord.Status.OK);
      assertThat(r.tokens().length).isBetween(1, 6);
      assertThat(r.steps().size()).isEqualTo(r.tokens().length);
      assertThat(r.steps().k()).isEqualTo(16);
      for (int i = 0; i < r.tokens().length; i++) {
        // Greedy: the chosen token is the top-1 and its logit is recorded.
        assertThat(r.steps().topId(i, 0)).isEqualTo(r.tokens()[i]);
        assertThat(r.steps().chosenLogit(i)).isEqualTo(r.steps().topLogit(i, 0));
        assertThat(r.steps().margin(i)).isGreaterThanOrEqualTo(0f);
      }
      assertThat(r.batchRows()).isEqualTo(Integer.parseInt(r.point().get("batch_size")));
      assertThat(r.batchRow()).isEqualTo(Integer.parseInt(r.point().get("batch_position")));
    }
    // The greedy fact, on the reference (batch 1): and every condition agrees with it token for
    // token but at a near-tie (batch 4 computes other bits; the flip rule decides).
    for (String prompt : List.of("The capital of France is", "The cat sat on the")) {
      RunRecord ref =
          recs.stream()
              .filter(r -> r.prompt().equals(prompt) && r.batchRows() == 1 && r.repeat() == 0)
              .findFirst()
              .orElseThrow();
      for (RunRecord r : recs) {
        if (r.prompt().equals(prompt)) {
          TokenAgreement.assertSameOrNearTie(ref, r, 1e-4, prompt + " " + r.point());
        }
      }
      if (prompt.startsWith("The capital")) {
        assertThat(ref.text()).startsWith(" Paris");
      }
    }
    try (TraceReader r = TraceReader.open(trace)) {
      assertThat(r.header().gridSize()).isEqualTo(18);
      assertThat(r.header().manifest())
          .containsKeys(
              "java.version",
              "cpu.model",
              "djl.version",
              "pytorch.version",
              "model.sha256",
              "tokendrift.commit");
      assertThat(r.header().manifest().get("model")).isEqualTo("bundled:tokendrift-tiny");
    }
  }

  @Test
  void sameSpecTwiceGivesTheSameRecordsApartFromTimings() throws Exception {
    Plan plan = new Plan(ExperimentSpec.read(spec(SMALL)));
    Path a = dir.resolve("a.jsonl");
    Path b = dir.resolve("b.jsonl");
    run(plan, options(a));
    run(plan, options(b));
    assertThat(withoutTimings(a)).isEqualTo(withoutTimings(b));
  }

  static List<String> withoutTimings(Path trace) throws Exception {
    return Files.readAllLines(trace).stream()
        .skip(1)
        .map(l -> l.replaceAll("\"elapsed_ms\":[0-9.Ee-]+", ""))
        .toList();
  }

  @Test
  void resumeAfterACutOffRecordFinishesWithoutDuplicates() throws Exception {
    Plan plan = new Plan(ExperimentSpec.read(spec(SMALL)));
    Path full = dir.resolve("full.jsonl");
    run(plan, options(full));
    List<String> lines = Files.readAllLines(full);
    // As if killed while writing run 8: seven complete records and half of the eighth.
    Path t = dir.resolve("t.jsonl");
    String kept = String.join("\n", lines.subList(0, 8)) + "\n";
    Files.writeString(t, kept + lines.get(8).substring(0, lines.get(8).length() / 2));
    List<String> log = new ArrayList<>();
    Runner.Outcome o =
        Runner.run(plan, Runner.Options.of(t).resuming(), Runner.Progress.NONE, log::add);
    assertThat(o.alreadyDone()).isEqualTo(7);
    assertThat(o.ok()).isEqualTo(11);
    assertThat(o.truncated()).isNotNull();
    assertThat(log).anyMatch(l -> l.contains(t + ":9: the last record was cut off"));
    List<RunRecord> recs = records(t);
    assertThat(recs).hasSize(18).extracting(RunRecord::id).doesNotHaveDuplicates();
    assertThat(withoutTimings(t)).containsExactlyInAnyOrderElementsOf(withoutTimings(full));
  }

  @Test
  void anExistingTraceNeedsResumeOrForceAndResumeNeedsTheSameSpec() throws Exception {
    Plan plan = new Plan(ExperimentSpec.read(spec(SMALL)));
    Path t = dir.resolve("t.jsonl");
    run(plan, options(t));
    assertThatThrownBy(() -> run(plan, options(t)))
        .hasMessage(t + ": a trace is already there; --resume continues it, --force replaces it");
    Plan other =
        new Plan(ExperimentSpec.read(spec(SMALL.replace("max_tokens: 6", "max_tokens: 5"))));
    assertThatThrownBy(() -> run(other, Runner.Options.of(t).resuming()))
        .hasMessage(
            t + ": was written by a different spec (or an edited one); --force starts over");
    // Resuming a finished trace runs nothing.
    Runner.Outcome o = run(plan, Runner.Options.of(t).resuming());
    assertThat(o.ok()).isZero();
    assertThat(o.alreadyDone()).isEqualTo(18);
    assertThat(records(t)).hasSize(18);
  }

  @Test
  void aBrokenTokenizerIsRefusedBeforeTheTraceIsCreated() throws Exception {
    // Issue 16, item 5: the trace used to be created before the tokenizer loaded, leaving a
    // header-only trace that refused both a plain re-run and --resume.
    Path model = dir.resolve("model");
    Files.createDirectories(model);
    for (String f : List.of(ModelDir.CONFIG, ModelDir.WEIGHTS)) {
      Files.copy(BundledModel.dir().resolve(f), model.resolve(f));
    }
    Files.writeString(model.resolve(ModelDir.TOKENIZER), "{ not a tokenizer");
    Plan plan =
        new Plan(
            ExperimentSpec.read(
                spec("name: broken\nmodel: model\nprompts: [\"a\"]\ndecoding: {max_tokens: 2}\n")));
    Path t = dir.resolve("t.jsonl");
    assertThatThrownBy(() -> run(plan, options(t))).isInstanceOf(RuntimeException.class);
    assertThat(t).doesNotExist();
  }

  @Test
  void failingRunsAreRecordedAndTheExperimentGoesOn() throws Exception {
    // splitk:200 cannot split the 128-wide contraction: those points fail, the others run.
    Plan plan =
        new Plan(
            ExperimentSpec.read(
                spec(
                    """
                    name: failing
                    prompts: ["The cat sat on the", "The coin landed on"]
                    decoding: {max_tokens: 4}
                    axes:
                      summation: [native, "splitk:200:forward"]
                    """)));
    Path t = dir.resolve("t.jsonl");
    Runner.Outcome o = run(plan, options(t));
    assertThat(o.ok()).isEqualTo(2);
    assertThat(o.failed()).isEqualTo(2);
    List<RunRecord> failed =
        records(t).stream().filter(r -> r.status() == RunRecord.Status.FAILED).toList();
    assertThat(failed).hasSize(2);
    assertThat(failed.get(0).error())
        .startsWith("IllegalArgumentException: summation splitk:200:forward: S (200) exceeds");
    // --fail-fast stops after the first failed batch.
    Path f = dir.resolve("f.jsonl");
    Plan reversed =
        new Plan(
            ExperimentSpec.read(
                spec(
                    """
                    name: failing
                    prompts: ["The cat sat on the", "The coin landed on"]
                    decoding: {max_tokens: 4}
                    axes:
                      summation: ["splitk:200:forward", native]
                    """)));
    Runner.Outcome ff = run(reversed, Runner.Options.of(f).failingFast());
    assertThat(ff.failed()).isEqualTo(1);
    assertThat(ff.ok()).isZero();
  }

  @Test
  void gpuPointsWithoutAGpuAreAnErrorOrAStatedSkip() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        ai.djl.engine.Engine.getEngine("PyTorch").getGpuCount() == 0,
        "this machine has a GPU: the no-GPU behaviour cannot be observed here");
    String yaml =
        """
        name: gpu
        prompts: ["The cat sat on the"]
        decoding: {max_tokens: 3}
        axes:
          device: %s
        """;
    Path t = dir.resolve("t.jsonl");
    assertThatThrownBy(
            () ->
                run(new Plan(ExperimentSpec.read(spec(yaml.formatted("[cpu, gpu]")))), options(t)))
        .isInstanceOf(EnvironmentException.class)
        .hasMessageStartingWith("the spec asks for device gpu:0 but this machine has 0 GPU(s)");
    assertThat(t).doesNotExist(); // nothing ran
    Plan optional =
        new Plan(ExperimentSpec.read(spec(yaml.formatted("{values: [cpu, gpu], optional: true}"))));
    Runner.Outcome o = run(optional, options(t));
    assertThat(o.ok()).isEqualTo(1);
    assertThat(o.skipped()).isEqualTo(1);
    RunRecord skipped =
        records(t).stream().filter(r -> r.status() == RunRecord.Status.SKIPPED).findFirst().get();
    assertThat(skipped.error())
        .isEqualTo(
            "device gpu:0 is not available on this machine (the spec marks devices optional)");
  }

  @Test
  void shardsCoverTheGridOnceAndMergeBack() throws Exception {
    Plan plan = new Plan(ExperimentSpec.read(spec(SMALL)));
    Set<String> ids = new HashSet<>();
    List<Path> traces = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Path t = dir.resolve("shard" + i + ".jsonl");
      run(plan, Runner.Options.of(t).shard(i, 3));
      for (RunRecord r : records(t)) {
        assertThat(ids.add(r.id())).as("run %s in two shards", r.id()).isTrue();
      }
      traces.add(t);
    }
    assertThat(ids).hasSize(18);
    TraceMerge.Result m = TraceMerge.merge(traces, dir.resolve("all.jsonl"), false);
    assertThat(m.runs()).isEqualTo(18);
    assertThat(m.missing()).isZero();
    assertThat(m.duplicates()).isEmpty();
    TraceMerge.Result partial =
        TraceMerge.merge(List.of(traces.get(0), traces.get(0)), dir.resolve("p.jsonl"), false);
    assertThat(partial.duplicates()).isNotEmpty();
    assertThat(partial.missing()).isPositive();
  }

  @Test
  void sampledRunsShareDrawsAcrossConditionsAndSeedsDiffer() throws Exception {
    Plan plan =
        new Plan(
            ExperimentSpec.read(
                spec(
                    """
                    name: sampled
                    prompts: ["Once upon a time there was a"]
                    decoding: {temperature: 0.9, max_tokens: 12, seeds: [1, 2]}
                    axes:
                      batch: {sizes: [1, 2], positions: [first]}
                      repeats: 2
                    """)));
    Path t = dir.resolve("t.jsonl");
    run(plan, options(t));
    List<RunRecord> recs = records(t);
    assertThat(recs).hasSize(8);
    for (RunRecord r : recs) {
      assertThat(r.steps().draw(0)).isBetween(0.0, 1.0);
    }
    // Same seed: identical draws at step 0 whatever the batch or repeat.
    for (long seed : List.of(1L, 2L)) {
      Set<Double> first =
          recs.stream()
              .filter(r -> r.seed() == seed)
              .map(r -> r.steps().draw(0))
              .collect(Collectors.toSet());
      assertThat(first).hasSize(1);
    }
    // Different seeds: different draws (Philox streams keyed by the seed; no CPU arithmetic).
    double d1 = recs.stream().filter(r -> r.seed() == 1).findFirst().orElseThrow().steps().draw(0);
    double d2 = recs.stream().filter(r -> r.seed() == 2).findFirst().orElseThrow().steps().draw(0);
    assertThat(d1).isNotEqualTo(d2);
    // Repeats of a sampled run with the same seed and batch are identical.
    assertThat(
            recs.stream()
                .filter(r -> r.seed() == 1 && r.batchRows() == 1)
                .map(RunRecord::text)
                .distinct())
        .hasSize(1);
  }

  /** The durability promise: kill -9 mid-experiment, resume, and nothing is lost or doubled. */
  @Test
  void killNineMidExperimentThenResumeLosesNothing() throws Exception {
    String yaml =
        """
        name: killed
        prompts:
          - "The capital of France is"
          - "The cat sat on the"
          - "She poured a cup of"
          - "The coin landed on"
          - "Once upon a time there was a"
        decoding: {max_tokens: 24}
        axes:
          threads: [1]   # pinned: this JVM and the child must compute the same bits
          repeats: 10
        """;
    Path specFile = spec(yaml);
    Path t = dir.resolve("t.jsonl");
    Process p = startRun(specFile, t, dir.resolve("child.log"));
    try {
      // Wait for the header and at least three runs, then SIGKILL.
      awaitLines(p, t, 4, dir.resolve("child.log"));
    } finally {
      p.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no flushing
      p.waitFor();
    }
    int recorded = records(t).size();
    assertThat(recorded).isBetween(3, 49); // killed mid-experiment
    // Killed outright, the child could not remove its lock file; the resume takes it over.
    Path lock = dir.resolve("t.jsonl.lock");
    assertThat(Files.readString(lock).strip()).isEqualTo(Long.toString(p.pid()));
    Plan plan = new Plan(ExperimentSpec.read(specFile));
    List<String> log = new ArrayList<>();
    Runner.Outcome o =
        Runner.run(plan, Runner.Options.of(t).resuming(), Runner.Progress.NONE, log::add);
    assertThat(log)
        .anySatisfy(
            l ->
                assertThat(l)
                    .contains("took over a lock left by pid " + p.pid() + " (no longer running)"));
    assertThat(lock).doesNotExist();
    assertThat(o.alreadyDone()).isEqualTo(recorded);
    assertThat(o.ok()).isEqualTo(50 - recorded);
    List<RunRecord> recs = records(t);
    assertThat(recs).hasSize(50).extracting(RunRecord::id).doesNotHaveDuplicates();
    assertThat(recs).allMatch(r -> r.status() == RunRecord.Status.OK);
    Path clean = dir.resolve("clean.jsonl");
    run(plan, options(clean));
    assertThat(withoutTimings(t)).containsExactlyInAnyOrderElementsOf(withoutTimings(clean));
  }

  /**
   * Ctrl-C (SIGINT) mid-experiment: the shutdown hook removes the lock; what was recorded stays.
   */
  @Test
  void ctrlCMidExperimentLeavesNoLockFileBehind() throws Exception {
    Path specFile =
        spec(
            """
            name: interrupted
            prompts: ["The capital of France is", "The cat sat on the"]
            decoding: {max_tokens: 24}
            axes:
              repeats: 40
            """);
    Path t = dir.resolve("int.jsonl");
    Process p = startRun(specFile, t, dir.resolve("int.log"), "--no-analyze");
    try {
      awaitLines(p, t, 3, dir.resolve("int.log"));
      assertThat(dir.resolve("int.jsonl.lock")).exists();
      new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    } finally {
      p.destroyForcibly();
      p.waitFor();
    }
    assertThat(records(t)).isNotEmpty().hasSizeLessThan(80);
    assertThat(dir.resolve("int.jsonl.lock")).doesNotExist();
  }

  /** `tokendrift run SPEC --trace TRACE ARGS` in a child JVM, its output into {@code log}. */
  private static Process startRun(Path spec, Path trace, Path log, String... args)
      throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true",
                "-cp",
                System.getProperty("java.class.path"),
                "io.tokendrift.cli.Main",
                "run",
                spec.toString(),
                "--trace",
                trace.toString()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /**
   * Waits (120 s at most) until the child's trace holds {@code n} lines; fails if it ends first.
   */
  private static void awaitLines(Process p, Path trace, long n, Path log) throws Exception {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (lines(trace) < n) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError(
            "the child ended, or recorded fewer than "
                + n
                + " lines in 120 s:\n"
                + Files.readString(log));
      }
      Thread.sleep(5);
    }
  }

  private static long lines(Path f) throws Exception {
    if (!Files.exists(f)) {
      return 0;
    }
    byte[] b = Files.readAllBytes(f);
    long n = 0;
    for (byte x : b) {
      n += x == '\n' ? 1 : 0;
    }
    return n;
  }
}
