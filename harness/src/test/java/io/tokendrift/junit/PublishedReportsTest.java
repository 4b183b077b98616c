package io.tokendrift.junit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.reporting.FileEntry;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/** The extension publishes its report files with JUnit's file-entry API. */
class PublishedReportsTest {
  @TempDir Path out;

  @Test
  void reportFilesArePublishedAsFileEntries() throws Exception {
    List<FileEntry> files = new ArrayList<>();
    SummaryGeneratingListener summary = new SummaryGeneratingListener();
    TestExecutionListener capture =
        new TestExecutionListener() {
          @Override
          public void fileEntryPublished(TestIdentifier id, FileEntry file) {
            files.add(file);
          }
        };
    LauncherFactory.create()
        .execute(
            LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(PublishedReportsFixture.class))
                .configurationParameter("junit.platform.reporting.output.dir", out.toString())
                .build(),
            summary,
            capture);
    assertThat(summary.getSummary().getTestsSucceededCount()).isEqualTo(1);
    assertThat(files)
        .extracting(f -> f.getPath().getFileName().toString())
        .containsExactly("report.html", "report.md", "analysis.json");
    for (FileEntry f : files) {
      assertThat(f.getPath()).startsWith(out);
      assertThat(Files.size(f.getPath())).isPositive();
    }
    assertThat(files.get(0).getMediaType())
        .hasValueSatisfying(m -> assertThat(m).startsWith("text/html"));
    assertThat(Files.readString(files.get(1).getPath())).startsWith("# tokendrift: ");
  }
}
