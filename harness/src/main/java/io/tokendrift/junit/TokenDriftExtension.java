package io.tokendrift.junit;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives a test method a {@link Stability} to describe and assert output stability:
 *
 * <pre>{@code
 * @ExtendWith(TokenDriftExtension.class)
 * class MyModelTest {
 *   @Test
 *   void stableAcrossBatches(Stability s) {
 *     s.model("path/to/model").prompts("The capital of France is")
 *         .batchSizes(1, 2, 4, 8).summations("native", "splitk:4:pairwise")
 *         .assertIdenticalOrNearTiesOnly();
 *   }
 * }
 * }</pre>
 *
 * <p>Reports go to {@code target/tokendrift/CLASS/METHOD/} (one sub-folder per invocation of a
 * parameterized test), are printed and attached to the test result as a report entry ({@code
 * tokendrift.report}) and published as file entries (report.html, report.md, analysis.json: JUnit's
 * {@code publishFile}, where the launcher keeps an output directory). DJL is set offline and opted
 * out of tracking before it first loads.
 */
public final class TokenDriftExtension implements ParameterResolver {
  static {
    // A test library must not call home: DJL offline and untracked before it first loads.
    io.tokendrift.model.Offline.ensure();
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
    return p.getParameter().getType() == Stability.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext c) {
    String cls = c.getRequiredTestClass().getSimpleName();
    String method = c.getRequiredTestMethod().getName();
    java.nio.file.Path dir = java.nio.file.Path.of("target", "tokendrift", cls, method);
    // One folder per invocation: a parameterized or repeated test's invocations ("[1] fp16", ...)
    // each keep their own report.
    String shown = c.getDisplayName();
    if (shown.startsWith("[") || shown.startsWith("repetition")) {
      dir = dir.resolve(shown.replaceAll("[^A-Za-z0-9._-]+", "-").replaceAll("^-+|-+$", ""));
    }
    return new Stability(dir, cls + "-" + method, c::publishReportEntry, file -> publish(c, file));
  }

  /**
   * Publishes a report file with JUnit's file-entry API, so that IDEs and build tools that keep
   * test outputs find it. A launcher without an output directory refuses; the report entry and the
   * printed path remain.
   */
  static void publish(ExtensionContext c, java.nio.file.Path file) {
    String name = file.getFileName().toString();
    try {
      // MediaType and this publishFile came with JUnit 5.14: on an older JUnit (LinkageError)
      // the report entry and the printed path remain.
      org.junit.jupiter.api.MediaType type =
          name.endsWith(".html")
              ? org.junit.jupiter.api.MediaType.parse("text/html; charset=UTF-8")
              : name.endsWith(".json")
                  ? org.junit.jupiter.api.MediaType.APPLICATION_JSON
                  : org.junit.jupiter.api.MediaType.parse("text/markdown; charset=UTF-8");
      c.publishFile(
          name,
          type,
          target ->
              java.nio.file.Files.copy(
                  file, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING));
    } catch (RuntimeException | LinkageError e) {
      // No output directory configured by this launcher: the report entry says where it is.
    }
  }
}
