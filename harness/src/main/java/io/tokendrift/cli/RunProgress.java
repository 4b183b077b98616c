package io.tokendrift.cli;

import io.tokendrift.experiment.Runner;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * {@code run}'s progress: a progress bar on a terminal, otherwise one log line per tenth of the
 * runs with the time elapsed and an estimate of the time left.
 */
final class RunProgress implements Runner.Progress, AutoCloseable {
  private final String name;
  private final Path trace;
  private final PrintWriter err;
  private final boolean tty;
  private ProgressBar bar;
  private long done;
  private long total;
  private long started = System.nanoTime();

  RunProgress(String name, Path trace, PrintWriter err, boolean tty) {
    this.name = name;
    this.trace = trace;
    this.err = err;
    this.tty = tty;
  }

  @Override
  public void start(long remaining, long already) {
    total = remaining;
    started = System.nanoTime();
    if (tty) {
      bar =
          new ProgressBarBuilder()
              .setTaskName(name)
              .setInitialMax(remaining)
              .setStyle(ProgressBarStyle.ASCII)
              .setUnit(" runs", 1)
              .showSpeed()
              .build();
    }
    if (already > 0) {
      err.printf(Locale.ROOT, "resuming: %d runs already in %s%n", already, trace);
    }
  }

  @Override
  public void advance(int runs) {
    long before = done;
    done += runs;
    if (bar != null) {
      bar.stepBy(runs);
    } else if (total > 0 && before * 10 / total != done * 10 / total) {
      double elapsed = (System.nanoTime() - started) / 1e9;
      double eta = elapsed / done * (total - done);
      err.printf(
          Locale.ROOT,
          "%s: %d/%d runs, %.0f s elapsed, about %.0f s left%n",
          name,
          done,
          total,
          elapsed,
          eta);
      err.flush();
    }
  }

  @Override
  public void close() {
    if (bar != null) {
      bar.close();
    }
  }
}
