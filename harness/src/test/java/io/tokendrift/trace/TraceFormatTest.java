package io.tokendrift.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceFormatTest {
  @TempDir Path dir;

  static TraceHeader header() {
    return new TraceHeader(
        "golden",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        4,
        "device=cpu,batch_size=1",
        Map.of("temperature", "0.0", "max_tokens", "3"),
        Map.of("top_k", "4", "full_logits", "false"),
        "all",
        Map.of("java.version", "17", "model.sha256", "abc"));
  }

  static Map<String, String> point(int batch) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("device", "cpu");
    p.put("batch_size", Integer.toString(batch));
    return p;
  }

  /** A run whose steps are drawn from a seeded generator: vocabulary 1213, top-k of k. */
  static RunRecord run(String id, int steps, int k, boolean sampled, boolean full, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    Steps s = new Steps(k, full);
    int[] tokens = new int[steps];
    for (int i = 0; i < steps; i++) {
      int[] ids = new int[k];
      float[] logits = new float[k];
      float top = (float) (5 + r.nextGaussian());
      for (int j = 0; j < k; j++) {
        ids[j] = r.nextInt(1213);
        logits[j] = top - j * (float) r.nextDouble();
      }
      tokens[i] = ids[0];
      float[] vector = full ? new float[] {top, 1.5f, -2f} : null;
      s.add(
          logits[0],
          ids,
          logits,
          (float) (top + 0.3),
          (float) r.nextDouble(),
          sampled ? r.nextDouble() : Double.NaN,
          sampled ? (float) r.nextDouble() : Float.NaN,
          r.nextLong(),
          vector);
    }
    return RunRecord.of(id, RunRecord.Status.OK)
        .prompt("p1", "The cat sat on the")
        .at(point(4), 7, 0)
        .output("MAX_TOKENS", " mat.", new int[] {10, 20, 30}, tokens)
        .batch(12.5, 4, 2)
        .steps(s)
        .build();
  }

  static void assertSameRun(RunRecord a, RunRecord b) {
    assertThat(b.id()).isEqualTo(a.id());
    assertThat(b.status()).isEqualTo(a.status());
    assertThat(b.point()).isEqualTo(a.point());
    assertThat(b.tokens()).isEqualTo(a.tokens());
    assertThat(b.promptTokens()).isEqualTo(a.promptTokens());
    assertThat(b.text()).isEqualTo(a.text());
    assertThat(b.stopReason()).isEqualTo(a.stopReason());
    Steps x = a.steps();
    Steps y = b.steps();
    assertThat(y.size()).isEqualTo(x.size());
    assertThat(y.k()).isEqualTo(x.k());
    for (int i = 0; i < x.size(); i++) {
      assertThat(Float.floatToRawIntBits(y.chosenLogit(i)))
          .isEqualTo(Float.floatToRawIntBits(x.chosenLogit(i)));
      for (int j = 0; j < x.k(); j++) {
        assertThat(y.topId(i, j)).isEqualTo(x.topId(i, j));
        assertThat(Float.floatToRawIntBits(y.topLogit(i, j)))
            .isEqualTo(Float.floatToRawIntBits(x.topLogit(i, j)));
      }
      assertThat(y.logSumExp(i)).isEqualTo(x.logSumExp(i));
      assertThat(y.entropy(i)).isEqualTo(x.entropy(i));
      assertThat(Double.doubleToRawLongBits(y.draw(i)))
          .isEqualTo(Double.doubleToRawLongBits(x.draw(i)));
      assertThat(Float.floatToRawIntBits(y.drawMargin(i)))
          .isEqualTo(Float.floatToRawIntBits(x.drawMargin(i)));
      assertThat(y.digest(i)).isEqualTo(x.digest(i));
      assertThat(y.fullLogits(i)).isEqualTo(x.fullLogits(i));
    }
  }

  @Test
  void roundTripsEveryFieldBitForBit() {
    Path f = dir.resolve("t.jsonl");
    List<RunRecord> runs =
        List.of(
            run("a", 5, 16, false, false, 1),
            run("b", 7, 16, true, false, 2),
            run("c", 3, 4, true, true, 3),
            RunRecord.of("d", RunRecord.Status.FAILED)
                .prompt("p2", "x")
                .at(point(1), 0, 1)
                .output(null, "", new int[0], new int[0])
                .batch(1, 1, 0)
                .error("IllegalStateException: boom")
                .build());
    try (TraceWriter w = TraceWriter.create(f, header(), false)) {
      runs.forEach(w::write);
    }
    try (TraceReader r = TraceReader.open(f)) {
      assertThat(r.header()).isEqualTo(header());
      List<RunRecord> back = new ArrayList<>();
      r.forEachRemaining(back::add);
      assertThat(back).hasSize(4);
      for (int i = 0; i < 3; i++) {
        assertSameRun(runs.get(i), back.get(i));
      }
      assertThat(back.get(3).status()).isEqualTo(RunRecord.Status.FAILED);
      assertThat(back.get(3).error()).isEqualTo("IllegalStateException: boom");
      assertThat(r.truncatedTail()).isNull();
    }
  }

  /** Locks the on-disk schema: a change to it must be a deliberate new version. */
  @Test
  void goldenLines() throws IOException {
    Path f = dir.resolve("golden.jsonl");
    try (TraceWriter w = TraceWriter.create(f, header(), false)) {
      w.write(run("golden-greedy", 2, 4, false, false, 42));
      w.write(run("golden-sampled", 2, 4, true, true, 43));
      w.write(providerRun());
    }
    String actual = Files.readString(f);
    String expected = "";
    try (var in = TraceFormatTest.class.getResourceAsStream("/golden/trace-v2.jsonl")) {
      if (in != null) {
        expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
    if (!actual.equals(expected)) {
      // For review: the bytes this build writes, next to the golden ones.
      Path out = Path.of("target", "golden-actual", "trace-v2.jsonl");
      Files.createDirectories(out.getParent());
      Files.writeString(out, actual);
    }
    assertThat(actual).isEqualTo(expected);
  }

  /** A provider's run (schema 2): token texts and bytes, logprobs for logits, the provider call. */
  static RunRecord providerRun() {
    Steps s = new Steps(3, false);
    s.addText(
        -0.25f,
        new int[] {io.tokendrift.engine.RemoteToken.idOf(" blue"), 7, 9},
        new float[] {-0.25f, -1.75f, -3f},
        " blue",
        new byte[] {32, 98, 108, 117, 101},
        new String[] {" blue", " grey", " dark"});
    s.addText(
        -0.5f,
        new int[] {5, 6},
        new float[] {-0.5f, -0.5000001f},
        ".",
        null,
        new String[] {".", ","});
    return RunRecord.of("golden-provider", RunRecord.Status.OK)
        .prompt("sky", "The sky is")
        .at(java.util.Map.of("concurrency", "8"), 0, 0)
        .output(
            "MAX_TOKENS",
            " blue.",
            new int[0],
            new int[] {io.tokendrift.engine.RemoteToken.idOf(" blue"), 5})
        .batch(12.5, 8, 3)
        .steps(s)
        .provider(
            new ProviderCall(
                "cmpl-1",
                "tiny",
                "fp_abc",
                "length",
                4,
                2,
                3,
                12.5,
                200,
                2,
                true,
                List.of(new ProviderCall.Retry(429, "HTTP 429", "HTTP 429: slow down", 250)),
                3))
        .build();
  }

  @Test
  void aProviderRunReadsBackWithItsTextsAndCall() throws IOException {
    Path f = dir.resolve("provider.jsonl");
    try (TraceWriter w = TraceWriter.create(f, header(), false)) {
      w.write(providerRun());
    }
    try (TraceReader r = TraceReader.open(f)) {
      RunRecord back = r.next();
      assertThat(back.provider()).isEqualTo(providerRun().provider());
      assertThat(back.steps().hasTexts()).isTrue();
      assertThat(back.steps().text(0)).isEqualTo(" blue");
      assertThat(back.steps().bytes(0)).isEqualTo("IGJsdWU="); // base64 of " blue"
      assertThat(back.steps().bytes(1)).isNull();
      assertThat(back.steps().topText(1, 1)).isEqualTo(",");
      assertThat(back.steps().topText(1, 2)).isNull(); // padding: the provider gave two
      assertThat(back.steps().margin(1)).isEqualTo(-0.5f - -0.5000001f);
      assertThat(back.tokens()).containsExactly(providerRun().tokens());
    }
  }

  @Test
  void versionOneTracesStillRead() throws IOException {
    Path f = dir.resolve("v1.jsonl");
    try (var in = TraceFormatTest.class.getResourceAsStream("/golden/trace-v1.jsonl")) {
      Files.write(f, in.readAllBytes());
    }
    try (TraceReader r = TraceReader.open(f)) {
      assertThat(r.header().experiment()).isEqualTo(header().experiment());
      RunRecord a = r.next();
      RunRecord expected = run("golden-greedy", 2, 4, false, false, 42);
      assertThat(a.id()).isEqualTo(expected.id());
      assertThat(a.tokens()).containsExactly(expected.tokens());
      assertThat(a.steps().topLogit(1, 2)).isEqualTo(expected.steps().topLogit(1, 2));
      assertThat(a.provider()).isNull();
      assertThat(r.next().id()).isEqualTo("golden-sampled");
      assertThat(r.hasNext()).isFalse();
    }
  }

  @Test
  void providerRunsRecordedBeforeRetriesAndInFlightStillRead() throws IOException {
    // The golden trace as it was before provider.retries, in_flight and cached_tokens existed.
    Path f = dir.resolve("v2-old.jsonl");
    try (var in =
        TraceFormatTest.class.getResourceAsStream("/golden/trace-v2-without-retries.jsonl")) {
      Files.write(f, in.readAllBytes());
    }
    try (TraceReader r = TraceReader.open(f)) {
      r.next();
      r.next();
      ProviderCall p = r.next().provider();
      assertThat(p.attempts()).isEqualTo(2);
      assertThat(p.retries()).isEmpty();
      assertThat(p.inFlight()).isEqualTo(-1);
      assertThat(p.cachedTokens()).isEqualTo(-1);
      // Unknown in-flight counts never exclude a run.
      assertThat(p.lostConcurrency(8)).isFalse();
    }
  }

  @Test
  void atTopSixteenAStepTakesAtMost200BytesOnDisk() throws IOException {
    Path f = dir.resolve("size.jsonl");
    try (TraceWriter w = TraceWriter.create(f, header(), false)) {
      w.write(run("greedy", 256, 16, false, false, 5));
    }
    long greedy = Files.size(f);
    Path g = dir.resolve("size2.jsonl");
    try (TraceWriter w = TraceWriter.create(g, header(), false)) {
      w.write(run("sampled", 256, 16, true, false, 6));
    }
    long headerBytes = Files.readAllLines(f).get(0).length() + 1;
    // Everything of the run's line (its fixed fields included) divided by its 256 steps.
    assertThat((greedy - headerBytes) / 256.0).isLessThanOrEqualTo(200);
    assertThat((Files.size(g) - headerBytes) / 256.0).isLessThanOrEqualTo(200);
  }

  @Test
  void aCutOffLastRecordIsReportedNotReturned() throws IOException {
    Path f = dir.resolve("t.jsonl");
    try (TraceWriter w = TraceWriter.create(f, header(), false)) {
      w.write(run("a", 4, 16, false, false, 1));
      w.write(run("b", 4, 16, false, false, 2));
    }
    long full = Files.size(f);
    byte[] bytes = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 40)); // a crash mid-write
    try (TraceReader r = TraceReader.open(f)) {
      List<RunRecord> back = new ArrayList<>();
      r.forEachRemaining(back::add);
      assertThat(back).extracting(RunRecord::id).containsExactly("a");
      TraceReader.Truncation t = r.truncatedTail();
      assertThat(t).isNotNull();
      assertThat(t.line()).isEqualTo(3);
      assertThat(t.offset() + t.bytes()).isEqualTo(full - 40);
      // Appending cuts the partial record off first.
      try (TraceWriter w = TraceWriter.append(f, r.validLength())) {
        w.write(run("b", 4, 16, false, false, 2));
      }
    }
    assertThat(Files.size(f)).isEqualTo(full);
    assertThat(Files.readAllBytes(f)).isEqualTo(bytes);
  }

  @Test
  void aCorruptRecordElsewhereIsAnErrorNamingItsLine() throws IOException {
    Path f = dir.resolve("t.jsonl");
    try (TraceWriter w = TraceWriter.create(f, header(), false)) {
      w.write(run("a", 2, 4, false, false, 1));
      w.write(run("b", 2, 4, false, false, 2));
      w.write(run("c", 2, 4, false, false, 3));
    }
    List<String> lines = new ArrayList<>(Files.readAllLines(f));
    lines.set(2, lines.get(2).substring(0, 50) + "}"); // line 3: run b, damaged
    Files.write(f, lines);
    try (TraceReader r = TraceReader.open(f)) {
      assertThat(r.next().id()).isEqualTo("a");
      assertThatThrownBy(r::next)
          .isInstanceOf(TraceFormatException.class)
          .hasMessageStartingWith(f + ":3: corrupt record (not valid JSON)");
    }
    lines.set(2, lines.get(3).replace("\"top_ids\":\"", "\"top_ids\":\"AAAA"));
    Files.write(f, lines);
    try (TraceReader r = TraceReader.open(f)) {
      r.next();
      assertThatThrownBy(r::next)
          .isInstanceOf(TraceFormatException.class)
          .hasMessageStartingWith(f + ":3: steps.top_ids:");
    }
  }

  @Test
  void anExistingTraceIsNeverOverwrittenWithoutForce() throws IOException {
    Path f = dir.resolve("t.jsonl");
    Files.writeString(f, "precious\n");
    assertThatThrownBy(() -> TraceWriter.create(f, header(), false))
        .hasMessage(f + ": a trace is already there; --resume continues it, --force replaces it");
    assertThat(Files.readString(f)).isEqualTo("precious\n");
    TraceWriter.create(f, header(), true).close();
    try (TraceReader r = TraceReader.open(f)) {
      assertThat(r.hasNext()).isFalse();
    }
  }

  @Test
  void notATraceIsRefused() throws IOException {
    Path f = dir.resolve("t.jsonl");
    Files.writeString(f, "{\"type\":\"run\"}\n");
    assertThatThrownBy(() -> TraceReader.open(f))
        .hasMessage(f + ":1: the first line must be the trace header");
    Files.writeString(f, "");
    assertThatThrownBy(() -> TraceReader.open(f))
        .hasMessage(f + ": empty file; a trace starts with a header line");
    Files.writeString(f, TraceCodec.header(header()).replace("trace/2", "trace/9") + "\n");
    assertThatThrownBy(() -> TraceReader.open(f))
        .hasMessage(
            f
                + ":1: schema tokendrift.trace/9 is not supported; this version reads"
                + " tokendrift.trace/1, tokendrift.trace/2");
  }

  @Test
  void mergeJoinsShardsAndReportsDuplicatesAndMissingRuns() throws IOException {
    Path a = dir.resolve("a.jsonl");
    Path b = dir.resolve("b.jsonl");
    try (TraceWriter w = TraceWriter.create(a, header(), false)) {
      w.write(run("r1", 2, 4, false, false, 1));
      w.write(run("r2", 2, 4, false, false, 2));
    }
    try (TraceWriter w = TraceWriter.create(b, header(), false)) {
      w.write(run("r2", 2, 4, false, false, 2));
      w.write(run("r3", 2, 4, false, false, 3));
    }
    Path out = dir.resolve("all.jsonl");
    TraceMerge.Result r = TraceMerge.merge(List.of(a, b), out, false);
    assertThat(r.runs()).isEqualTo(3);
    assertThat(r.duplicates()).containsExactly("r2");
    assertThat(r.missing()).isEqualTo(1); // grid of 4
    try (TraceReader rd = TraceReader.open(out)) {
      List<String> ids = new ArrayList<>();
      rd.forEachRemaining(x -> ids.add(x.id()));
      assertThat(ids).containsExactly("r1", "r2", "r3");
      assertThat(rd.header().shard()).isEqualTo("all");
    }
    TraceHeader other =
        new TraceHeader("golden", "f".repeat(64), 4, "x", Map.of(), Map.of(), "0/2", Map.of());
    Path c = dir.resolve("c.jsonl");
    TraceWriter.create(c, other, false).close();
    assertThatThrownBy(() -> TraceMerge.merge(List.of(a, c), dir.resolve("x.jsonl"), false))
        .hasMessageContaining(c + ": recorded by a different spec than " + a);
  }
}
