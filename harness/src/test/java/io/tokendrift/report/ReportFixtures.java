package io.tokendrift.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.analysis.Analysis;
import io.tokendrift.analysis.Analyzer;
import io.tokendrift.spec.Point;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import io.tokendrift.trace.TraceHeader;
import io.tokendrift.trace.TraceWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** An analysis with divergences whose prompts and tokens carry hostile and right-to-left text. */
final class ReportFixtures {
  static final String SCRIPT = "<script>document.title='PWNED'</script>";
  static final String RTL = "שלום עולם مرحبا";

  private ReportFixtures() {}

  static final Point REF =
      Point.parse(
          "device=cpu,batch_size=1,batch_position=0,summation=native,precision=fp32,threads=1,"
              + "batch_invariant=false");
  static final Point B4 =
      Point.parse(
          "device=cpu,batch_size=4,batch_position=3,summation=native,precision=fp32,threads=1,"
              + "batch_invariant=false");

  static final Point B4FIRST =
      Point.parse(
          "device=cpu,batch_size=4,batch_position=0,summation=native,precision=fp32,threads=1,"
              + "batch_invariant=false");

  static RunRecord run(String id, String prompt, Point p, int[] tokens, float[] margins, int swap) {
    Steps s = new Steps(4, false);
    for (int i = 0; i < tokens.length; i++) {
      int[] ids = {tokens[i], 90 + i, 80, 81};
      float[] v = {5f, 5f - margins[i], 1f, 0f};
      if (p != REF) {
        for (int j = 0; j < 4; j++) {
          v[j] += 1e-4f;
        }
      }
      if (i == swap) {
        ids = new int[] {90 + i, 10 + i, 80, 81};
        float t = v[0];
        v[0] = v[1];
        v[1] = t;
      }
      s.add(v[0], ids, v, 6f, 0.5f, Double.NaN, Float.NaN, i, null);
    }
    return RunRecord.of(id, RunRecord.Status.OK)
        .prompt("p-" + prompt.length(), prompt)
        .at(p.values(), 0, 0)
        .output("MAX_TOKENS", "text", new int[] {1}, tokens)
        .batch(1, p.batchSize(), p.batchPosition())
        .steps(s)
        .build();
  }

  /** Analysis JSON of two prompts (one hostile, one right-to-left), each flipping at batch 4. */
  static JsonNode analysis(Path dir) throws Exception {
    float[] m = {2f, 0.00005f, 1f, 0.3f, 3f, 2f};
    int[] ref = {10, 11, 12, 13, 14, 15};
    int[] div = {10, 91, 40, 41, 42, 43};
    Path t = dir.resolve("t.jsonl");
    TraceHeader h =
        new TraceHeader(
            "hostile \"<b>name</b>\"",
            "c".repeat(64),
            4,
            REF.key(),
            Map.of("temperature", "0.0"),
            Map.of("top_k", "4"),
            "all",
            Map.of("model", SCRIPT, "cpu.model", RTL));
    try (TraceWriter w = TraceWriter.create(t, h, false)) {
      for (String prompt : List.of(SCRIPT + " \"quoted\" & 'single'", RTL)) {
        w.write(run("ref" + prompt.length(), prompt, REF, ref, m, -1));
        w.write(run("b4" + prompt.length(), prompt, B4, div, m, 1));
        w.write(run("b4first" + prompt.length(), prompt, B4FIRST, ref, m, -1));
      }
    }
    Analysis a =
        Analyzer.analyze(List.of(t), Analyzer.Options.defaults(List.of()))
            .withTokenText(
                id -> id == 91 ? "<img src=x onerror=alert(1)>" : id == 11 ? " " + RTL : " t" + id);
    return new ObjectMapper().readTree(Reports.analysisJson(a));
  }
}
