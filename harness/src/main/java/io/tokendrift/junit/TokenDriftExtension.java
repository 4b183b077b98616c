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
 * <p>Reports go to {@code target/tokendrift/CLASS/METHOD/} and are attached to the test result as a
 * report entry ({@code tokendrift.report}).
 */
public final class TokenDriftExtension implements ParameterResolver {
  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
    return p.getParameter().getType() == Stability.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext c) {
    String cls = c.getRequiredTestClass().getSimpleName();
    String method = c.getRequiredTestMethod().getName();
    return new Stability(
        java.nio.file.Path.of("target", "tokendrift", cls, method),
        cls + "-" + method,
        c::publishReportEntry);
  }
}
