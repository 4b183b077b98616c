package io.tokendrift.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MarkdownReportTest {
  @TempDir Path dir;

  @Test
  void goldenMarkdown() throws Exception {
    String md = MarkdownReport.render(ReportFixtures.analysis(dir));
    String expected = "";
    try (var in = MarkdownReportTest.class.getResourceAsStream("/golden/report-v1.md")) {
      if (in != null) {
        expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
    if (!md.equals(expected)) {
      Path out = Path.of("target", "golden-actual", "report-v1.md");
      Files.createDirectories(out.getParent());
      Files.writeString(out, md);
    }
    assertThat(md).isEqualTo(expected);
    // Hostile text is inert in Markdown too: no raw tag survives.
    assertThat(md).doesNotContain("<script", "<img").contains("&lt;script&gt;");
  }

  @Test
  void longReportsAreCutUnder64KbWithANote() throws Exception {
    ObjectNode a = (ObjectNode) ReportFixtures.analysis(dir);
    ArrayNode axes = (ArrayNode) a.get("axes");
    JsonNode one = axes.get(0);
    for (int i = 0; i < 400; i++) {
      axes.add(one.deepCopy());
    }
    String md = MarkdownReport.render(new ObjectMapper().readTree(a.toString()));
    assertThat(md.getBytes(StandardCharsets.UTF_8).length)
        .isLessThanOrEqualTo(MarkdownReport.LIMIT);
    assertThat(md).endsWith("*(report cut at 64 KB; the full data is in analysis.json)*\n");
  }

  @Test
  void aProvidersDriftsAreLogprobsAndATokenThatLeftTheTopNIsSaidInWords() throws Exception {
    ObjectNode a = (ObjectNode) ReportFixtures.analysis(dir);
    String local = MarkdownReport.render(a);
    assertThat(local).contains("Δlogit of the reference's top-1 / top-2");
    ObjectNode p = a.putObject("provider");
    p.put("logits", "not available: margins and drift are in logprob units");
    p.put("top_logprobs", 5);
    p.putObject("fingerprints").put("fp_1", 3);
    p.putObject("within_fingerprint").put("compared", 2).put("diverged", 1);
    p.putObject("across_fingerprints").put("compared", 0).put("diverged", 0);
    ObjectNode d = (ObjectNode) a.get("divergences").get(0);
    d.putNull("drift_top1");
    String md = MarkdownReport.render(new ObjectMapper().readTree(a.toString()));
    assertThat(md)
        .contains("Δlogprob of the reference's top-1 / top-2 (left this run's top 5) / ")
        .doesNotContain("Δlogit of the reference's");
  }
}
