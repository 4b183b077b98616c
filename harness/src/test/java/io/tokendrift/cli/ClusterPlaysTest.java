package io.tokendrift.cli;

import static io.tokendrift.cli.ExplainCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster recipes of ci/README.md, played on this machine: N processes started as a Kubernetes
 * Indexed Job starts its pods (each given JOB_COMPLETION_INDEX) or as a Slurm array starts its
 * tasks (SLURM_ARRAY_TASK_ID from 1, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT), every one
 * running the same command with {@code --shard auto/N} into one folder; then merge and analyse, and
 * analyse by shards (extracts, partials, combine). The result is the single-process run's: the same
 * runs, the same analysis.json; the combine's is the merged trace's, byte for byte.
 */
class ClusterPlaysTest {
  @TempDir Path dir;

  static final String SPEC =
      """
      name: plays
      model: bundled
      prompts: ["The capital of France is", "She poured a cup of", "The coin landed on"]
      decoding: {max_tokens: 8}
      axes:
        batch: {sizes: [1, 2], positions: [last]}
        threads: [1]
      """;

  /** The same command a pod or an array task runs, with the scheduler's variables. */
  private Process task(Path spec, Path trace, Map<String, String> vars) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-D")) {
        cmd.add(a);
      }
    }
    cmd.add("-Dai.djl.offline=true");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.addAll(
        List.of(
            "io.tokendrift.cli.Main",
            "run",
            spec.toString(),
            "--shard",
            "auto/3",
            "--resume",
            "--trace",
            trace.toString(),
            "--no-analyze"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment()
        .keySet()
        .removeIf(k -> k.startsWith("SLURM_") || k.equals("JOB_COMPLETION_INDEX"));
    pb.environment().putAll(vars);
    pb.redirectOutput(trace.resolveSibling(trace.getFileName() + ".log").toFile());
    return pb.start();
  }

  private String play(String name, List<Map<String, String>> tasks) throws Exception {
    Path spec = dir.resolve("plays.yaml");
    Files.writeString(spec, SPEC);
    Path shared = Files.createDirectories(dir.resolve(name));
    List<Process> ps = new ArrayList<>();
    for (int i = 0; i < tasks.size(); i++) {
      ps.add(task(spec, shared.resolve("shard-" + i + ".jsonl"), tasks.get(i)));
    }
    for (int i = 0; i < ps.size(); i++) {
      assertThat(ps.get(i).waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(ps.get(i).exitValue())
          .as(Files.readString(shared.resolve("shard-" + i + ".jsonl.log")))
          .isZero();
    }
    List<String> merge = new ArrayList<>(List.of("merge"));
    for (int i = 0; i < tasks.size(); i++) {
      merge.add(shared.resolve("shard-" + i + ".jsonl").toString());
    }
    merge.addAll(List.of("--out", shared.resolve("trace.jsonl").toString()));
    ExplainCommandTest.Result m = run(merge.toArray(new String[0]));
    assertThat(m.code()).as(m.err()).isZero();
    ExplainCommandTest.Result a =
        run("analyze", shared.resolve("trace.jsonl").toString(), "--out", shared.toString());
    assertThat(a.code()).as(a.err()).isZero();
    String merged = Files.readString(shared.resolve("analysis.json"));
    // Analysis by shards, as ci/README.md's recipe: extracts, partials, combine.
    List<String> refs = new ArrayList<>();
    for (int i = 0; i < tasks.size(); i++) {
      Path r = shared.resolve("refs-" + i + ".jsonl");
      var x =
          run(
              "analyze",
              shared.resolve("shard-" + i + ".jsonl").toString(),
              "--references-out",
              r.toString());
      assertThat(x.code()).as(x.err()).isZero();
      refs.add(r.toString());
    }
    List<String> combine = new ArrayList<>(List.of("combine"));
    for (int i = 0; i < tasks.size(); i++) {
      Path part = shared.resolve("part-" + i + ".tdp");
      List<String> args =
          new ArrayList<>(
              List.of(
                  "analyze",
                  shared.resolve("shard-" + i + ".jsonl").toString(),
                  "--partial",
                  part.toString(),
                  "--references"));
      args.addAll(refs);
      var p = run(args.toArray(new String[0]));
      assertThat(p.code()).as(p.err()).isZero();
      combine.add(part.toString());
    }
    combine.add("--references");
    combine.addAll(refs);
    Path report = Files.createDirectories(shared.resolve("combined"));
    combine.addAll(List.of("--out", report.toString(), "--format", "json"));
    var c = run(combine.toArray(new String[0]));
    assertThat(c.code()).as(c.err()).isZero();
    assertThat(Files.readString(report.resolve("analysis.json"))).isEqualTo(merged);
    return merged;
  }

  @Test
  void anIndexedJobAndASlurmArrayEachGiveTheSingleProcessAnalysis() throws Exception {
    Path spec = dir.resolve("plays.yaml");
    Files.writeString(spec, SPEC);
    Path single = dir.resolve("single");
    ExplainCommandTest.Result s = run("run", spec.toString(), "--out", single.toString());
    assertThat(s.code()).as(s.err()).isZero();
    String expected = Files.readString(single.resolve("analysis.json"));

    String k8s =
        play(
            "indexed-job",
            List.of(
                Map.of("JOB_COMPLETION_INDEX", "0"),
                Map.of("JOB_COMPLETION_INDEX", "1"),
                Map.of("JOB_COMPLETION_INDEX", "2")));
    String slurm = play("slurm-array", List.of(slurm(1), slurm(2), slurm(3)));
    assertThat(withoutManifest(k8s)).isEqualTo(withoutManifest(expected));
    assertThat(withoutManifest(slurm)).isEqualTo(withoutManifest(expected));
  }

  /** An array task of {@code sbatch --array=1-3}: ids from 1. */
  private static Map<String, String> slurm(int id) {
    return Map.of(
        "SLURM_ARRAY_TASK_ID",
        Integer.toString(id),
        "SLURM_ARRAY_TASK_MIN",
        "1",
        "SLURM_ARRAY_TASK_COUNT",
        "3");
  }

  /**
   * The analysis without its copy of the trace header's manifest, which names the recording process
   * (its commit state and the like), not what was computed.
   */
  private static String withoutManifest(String analysis) throws Exception {
    var n =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            new com.fasterxml.jackson.databind.ObjectMapper().readTree(analysis);
    n.remove("manifest");
    return n.toString();
  }

  @Test
  void autoWithoutASchedulersIndexIsRefusedNamingTheVariables() {
    assertThat(RunCommand.parseShard("auto/4", k -> Map.of("JOB_COMPLETION_INDEX", "2").get(k)))
        .containsExactly(2, 4);
    assertThat(
            RunCommand.parseShard(
                "auto/4",
                k -> Map.of("SLURM_ARRAY_TASK_ID", "7", "SLURM_ARRAY_TASK_MIN", "4").get(k)))
        .containsExactly(3, 4);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> RunCommand.parseShard("auto/4", k -> null))
        .hasMessageContaining("takes the index from JOB_COMPLETION_INDEX")
        .hasMessageContaining("SLURM_ARRAY_TASK_ID");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> RunCommand.parseShard("auto/4", k -> Map.of("JOB_COMPLETION_INDEX", "4").get(k)))
        .hasMessageContaining("the task's index 4 (from JOB_COMPLETION_INDEX) is outside 0..3");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                RunCommand.parseShard(
                    "auto/4",
                    k -> Map.of("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_COUNT", "8").get(k)))
        .hasMessageContaining("the Slurm array has 8 tasks");
  }
}
