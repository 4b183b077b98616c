package io.tokendrift.cli;

import static io.tokendrift.cli.ExplainCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Analysis by shards: each shard's reference extract, each shard's partial, and the combine give
 * the analysis of the merged trace, byte for byte (analysis.json, report.md, report.html) — on an
 * experiment whose runs are compared with references in other shards, with float64 truth, mode axis
 * groups, an expected answer and repeats.
 */
class ShardedAnalysisTest {
  @TempDir static Path dir;

  static final int SHARDS = 3;

  static final String SPEC =
      """
      name: shards
      model: bundled
      prompts:
        - {id: sky, text: "At night the sky is"}
        - id: bear
          text: "At night the sky is dark. Once upon a time there was a little"
          expect: {choices: [bear, fox], answer: bear}
        - {id: cat, text: "The cat sat on the"}
      decoding: {temperature: 0, max_tokens: 10}
      axes:
        batch: {sizes: [1, 4], positions: [first, last]}
        precision: [fp32, fp64]
        repeats: 2
      reference: {batch_size: 1, precision: fp32}
      """;

  static List<Path> shards = new ArrayList<>();

  @BeforeAll
  static void recordTheShards() throws Exception {
    Path spec = dir.resolve("shards.yaml");
    Files.writeString(spec, SPEC);
    for (int i = 0; i < SHARDS; i++) {
      Path t = dir.resolve("shard-" + i + ".jsonl");
      var r =
          run(
              "run",
              spec.toString(),
              "--shard",
              i + "/" + SHARDS,
              "--trace",
              t.toString(),
              "--no-analyze");
      assertThat(r.code()).as(r.err()).isZero();
      shards.add(t);
    }
  }

  private static Path merged() throws Exception {
    Path whole = dir.resolve("whole");
    if (!Files.exists(whole.resolve("analysis.json"))) {
      Files.createDirectories(whole);
      List<String> args = new ArrayList<>(List.of("merge"));
      shards.forEach(s -> args.add(s.toString()));
      args.addAll(List.of("--out", whole.resolve("trace.jsonl").toString()));
      assertThat(run(args.toArray(new String[0])).code()).isZero();
      var a = run("analyze", whole.resolve("trace.jsonl").toString());
      assertThat(a.code()).as(a.err()).isZero();
    }
    return whole;
  }

  /** Steps 1–3 into {@code name}, the references being the extracts or the shard traces. */
  private static Path byShards(String name, boolean extracts) throws Exception {
    Path d = Files.createDirectories(dir.resolve(name));
    List<String> refs = new ArrayList<>();
    for (int i = 0; i < SHARDS; i++) {
      if (extracts) {
        Path r = d.resolve("refs-" + i + ".jsonl");
        var e = run("analyze", shards.get(i).toString(), "--references-out", r.toString());
        assertThat(e.code()).as(e.err()).isZero();
        assertThat(e.out()).contains("runs that may be references");
        refs.add(r.toString());
      } else {
        refs.add(shards.get(i).toString());
      }
    }
    // Given in another order than the shards': the files say which shard they are.
    java.util.Collections.reverse(refs);
    List<String> combine = new ArrayList<>(List.of("combine"));
    for (int i = SHARDS - 1; i >= 0; i--) {
      Path part = d.resolve("part-" + i + ".tdp");
      List<String> args =
          new ArrayList<>(
              List.of("analyze", shards.get(i).toString(), "--partial", part.toString()));
      args.add("--references");
      args.addAll(refs);
      var p = run(args.toArray(new String[0]));
      assertThat(p.code()).as(p.err()).isZero();
      combine.add(part.toString());
    }
    combine.add("--references");
    combine.addAll(refs);
    combine.addAll(List.of("--out", d.toString()));
    var c = run(combine.toArray(new String[0]));
    assertThat(c.code()).as(c.err()).isZero();
    return d;
  }

  @Test
  void combinedPartialsAreTheMergedTracesAnalysisByteForByte() throws Exception {
    Path whole = merged();
    String expected = Files.readString(whole.resolve("analysis.json"));
    // The experiment exercises what a combine must carry: divergences, float64, answers, groups.
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    var n = json.readTree(expected);
    assertThat(n.path("divergences").size()).isPositive();
    assertThat(n.path("truth").path("points").size()).isPositive();
    assertThat(n.path("answers").isMissingNode()).isFalse();
    assertThat(n.path("groups").size()).isPositive();
    assertThat(n.path("headline").path("no_reference").asLong(-1)).isZero();
    // ...and its runs' references are in other shards: a shard alone cannot compare them.
    Path alone = Files.createDirectories(dir.resolve("alone"));
    run("analyze", shards.get(1).toString(), "--out", alone.toString(), "--format", "json");
    assertThat(
            json.readTree(alone.resolve("analysis.json").toFile())
                .path("headline")
                .path("no_reference")
                .asLong())
        .isPositive();
    for (boolean extracts : new boolean[] {true, false}) {
      Path d = byShards(extracts ? "extracts" : "traces", extracts);
      for (String f : List.of("analysis.json", "report.md", "report.html")) {
        assertThat(Files.readString(d.resolve(f)))
            .as(f + (extracts ? " (references from extracts)" : " (references from the traces)"))
            .isEqualTo(Files.readString(whole.resolve(f)));
      }
    }
  }

  @Test
  void aMissingShardAStaleExtractAndOtherReferencesAreRefusedByName() throws Exception {
    Path d = byShards("refusals", true);
    List<String> refs = new ArrayList<>();
    for (int i = 0; i < SHARDS; i++) {
      refs.add(d.resolve("refs-" + i + ".jsonl").toString());
    }
    // A partial missing.
    var missing =
        run(
            "combine",
            d.resolve("part-0.tdp").toString(),
            d.resolve("part-1.tdp").toString(),
            "--references",
            refs.get(0),
            refs.get(1),
            refs.get(2));
    assertThat(missing.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(missing.err()).contains("no partial for shard 2/3");
    // A shard's references missing.
    var noRefs =
        run(
            "analyze",
            shards.get(0).toString(),
            "--partial",
            d.resolve("p.tdp").toString(),
            "--references",
            refs.get(0),
            refs.get(2));
    assertThat(noRefs.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(noRefs.err()).contains("none for shard 1/3");
    // Shard 0's references given twice.
    var twice =
        run(
            "analyze",
            shards.get(0).toString(),
            "--partial",
            d.resolve("p.tdp").toString(),
            "--references",
            refs.get(0),
            refs.get(1),
            refs.get(2),
            shards.get(0).toString());
    assertThat(twice.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(twice.err()).contains("references of shard 0/3 again");
    // An extract of an older state of shard 0's trace (its first records): stale, refused.
    Path older = Files.createDirectories(d.resolve("older"));
    List<String> lines = Files.readAllLines(shards.get(0));
    Files.write(older.resolve("shard-0.jsonl"), lines.subList(0, 3));
    var x =
        run(
            "analyze",
            older.resolve("shard-0.jsonl").toString(),
            "--references-out",
            older.resolve("refs-0.jsonl").toString());
    assertThat(x.code()).as(x.err()).isZero();
    var stale =
        run(
            "analyze",
            shards.get(0).toString(),
            "--partial",
            d.resolve("p.tdp").toString(),
            "--references",
            older.resolve("refs-0.jsonl").toString(),
            refs.get(1),
            refs.get(2));
    assertThat(stale.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(stale.err()).contains("does not hold the reference candidates");
    assertThat(d.resolve("p.tdp")).doesNotExist();
    // Combined against references other than the partials': refused, naming the partial.
    var other =
        run(
            "combine",
            d.resolve("part-0.tdp").toString(),
            d.resolve("part-1.tdp").toString(),
            d.resolve("part-2.tdp").toString(),
            "--references",
            shards.get(0).toString(),
            shards.get(1).toString(),
            shards.get(2).toString());
    assertThat(other.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(other.err()).contains("part-").contains("computed against other references");
    // A partial cut off (a crash while copying it): refused, not counted short.
    Path cut = d.resolve("cut");
    Files.createDirectories(cut);
    byte[] b = Files.readAllBytes(d.resolve("part-1.tdp"));
    Files.write(cut.resolve("part-1.tdp"), java.util.Arrays.copyOf(b, b.length - 40));
    var torn =
        run(
            "combine",
            d.resolve("part-0.tdp").toString(),
            cut.resolve("part-1.tdp").toString(),
            d.resolve("part-2.tdp").toString(),
            "--references",
            refs.get(0),
            refs.get(1),
            refs.get(2),
            "--out",
            cut.toString());
    assertThat(torn.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(torn.err()).contains("part-1.tdp");
    assertThat(cut.resolve("analysis.json")).doesNotExist();
    // An existing file is not replaced without --force.
    var again = run("analyze", shards.get(0).toString(), "--references-out", refs.get(0));
    assertThat(again.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(again.err()).contains("--force");
    // A whole trace is not a shard.
    var whole =
        run(
            "analyze",
            merged().resolve("trace.jsonl").toString(),
            "--partial",
            d.resolve("w.tdp").toString(),
            "--references",
            refs.get(0),
            refs.get(1),
            refs.get(2));
    assertThat(whole.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(whole.err()).contains("holds shard 'all'");
  }

  @Test
  void aShardCutOffMidRecordCombinesAsTheMergedTraceWithItsRunMissing() throws Exception {
    Path d = Files.createDirectories(dir.resolve("cut-shard"));
    List<Path> cut = new ArrayList<>();
    for (int i = 0; i < SHARDS; i++) {
      Path t = d.resolve("shard-" + i + ".jsonl");
      byte[] b = Files.readAllBytes(shards.get(i));
      // Shard 1 was killed while writing its last record: 50 bytes of it are on disk.
      int keep = b.length;
      if (i == 1) {
        int lastLine = lastIndexOf(b, (byte) '\n', b.length - 2) + 1;
        keep = lastLine + 50;
      }
      Files.write(t, java.util.Arrays.copyOf(b, keep));
      cut.add(t);
    }
    // Given in reverse: merge joins shard traces in shard order.
    List<String> merge = new ArrayList<>(List.of("merge"));
    for (int i = SHARDS - 1; i >= 0; i--) {
      merge.add(cut.get(i).toString());
    }
    merge.addAll(List.of("--out", d.resolve("trace.jsonl").toString()));
    var m = run(merge.toArray(new String[0]));
    assertThat(m.code()).as(m.out() + m.err()).isEqualTo(RunCommand.RUNS_FAILED);
    Path whole = Files.createDirectories(d.resolve("whole"));
    var a = run("analyze", d.resolve("trace.jsonl").toString(), "--out", whole.toString());
    assertThat(a.code()).isEqualTo(RunCommand.RUNS_FAILED);

    List<String> refs = new ArrayList<>();
    List<String> combine = new ArrayList<>(List.of("combine"));
    for (int i = 0; i < SHARDS; i++) {
      Path r = d.resolve("refs-" + i + ".jsonl");
      assertThat(run("analyze", cut.get(i).toString(), "--references-out", r.toString()).code())
          .isZero();
      refs.add(r.toString());
    }
    for (int i = 0; i < SHARDS; i++) {
      Path part = d.resolve("part-" + i + ".tdp");
      List<String> args =
          new ArrayList<>(List.of("analyze", cut.get(i).toString(), "--partial", part.toString()));
      args.add("--references");
      args.addAll(refs);
      var p = run(args.toArray(new String[0]));
      assertThat(p.code()).as(p.err()).isEqualTo(i == 1 ? RunCommand.RUNS_FAILED : Main.OK);
      combine.add(part.toString());
    }
    combine.add("--references");
    combine.addAll(refs);
    Path byShards = Files.createDirectories(d.resolve("by-shards"));
    combine.addAll(List.of("--out", byShards.toString()));
    var c = run(combine.toArray(new String[0]));
    assertThat(c.code()).isEqualTo(RunCommand.RUNS_FAILED);
    assertThat(c.out()).contains("cut-off record at " + cut.get(1));
    for (String f : List.of("analysis.json", "report.md", "report.html")) {
      assertThat(Files.readString(byShards.resolve(f)))
          .as(f)
          .isEqualTo(Files.readString(whole.resolve(f)));
    }
    assertThat(
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(whole.resolve("analysis.json").toFile())
                .path("headline")
                .path("missing_runs")
                .asLong())
        .isEqualTo(1);
  }

  @Test
  void theAnalysisSettingsGoToCombineNotToAShardsStep() {
    var r =
        run(
            "analyze",
            shards.get(0).toString(),
            "--references-out",
            dir.resolve("never.jsonl").toString(),
            "--floor-quantile",
            "0.9");
    assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(r.err()).contains("--floor-quantile is a setting of the analysis");
    assertThat(dir.resolve("never.jsonl")).doesNotExist();
  }

  private static int lastIndexOf(byte[] b, byte x, int from) {
    for (int i = from; i >= 0; i--) {
      if (b[i] == x) {
        return i;
      }
    }
    return -1;
  }
}
