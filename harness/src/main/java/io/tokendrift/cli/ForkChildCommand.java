package io.tokendrift.cli;

import io.tokendrift.experiment.ForkedMain;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The forked child of a run with an {@code env} axis (not for people: hidden from the help). The
 * runner starts {@code java -cp ... io.tokendrift.cli.Main fork-child JOB} with the environment's
 * variables set; the child's work and its link to the parent are {@link ForkedMain}'s.
 */
@Command(
    name = "fork-child",
    hidden = true,
    description = "Run a forked child's job (started by `run` for an env axis).")
final class ForkChildCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "JOB", description = "The job file the parent wrote.")
  Path job;

  @Override
  public Integer call() {
    return ForkedMain.run(job);
  }
}
