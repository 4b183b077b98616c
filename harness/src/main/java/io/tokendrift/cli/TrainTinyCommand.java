package io.tokendrift.cli;

import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.tiny.MicroTiePlanting;
import io.tokendrift.tiny.TinyModelBuilder;
import io.tokendrift.tiny.TinyTrainer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Trains the bundled tiny model from scratch: corpus, tokenizer, GPT-2, model card. */
@Command(
    name = "train-tiny",
    header = "Build the bundled tiny model from scratch.",
    footer = {"", "Example:", "  tokendrift train-tiny --out /tmp/tiny"},
    mixinStandardHelpOptions = true,
    description =
        "Generate the corpus (with planted near-ties), train a byte-level BPE tokenizer and a small GPT-2 with DJL on the CPU, and write a Hugging Face model folder with near_ties.json and a model card. The defaults rebuild the bundled model (about 15 minutes on 2 cores).")
final class TrainTinyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "New or empty folder to write the model into.")
  Path out;

  @Option(
      names = "--steps",
      paramLabel = "N",
      description = "Optimizer steps (default: the bundled model's, ${DEFAULT-VALUE}).")
  int steps = TinyTrainer.Settings.BUNDLED.steps();

  @Option(
      names = "--seed",
      paramLabel = "SEED",
      description = "Corpus, initialisation and batch-order seed (default: ${DEFAULT-VALUE}).")
  long seed = TinyTrainer.Settings.BUNDLED.seed();

  @Option(
      names = "--documents",
      paramLabel = "N",
      description = "Training documents to generate (default: ${DEFAULT-VALUE}).")
  int documents = TinyTrainer.Settings.BUNDLED.trainDocuments();

  @Option(
      names = "--threads",
      paramLabel = "N",
      description = "PyTorch threads (default: ${DEFAULT-VALUE}; part of the recipe).")
  int threads = TinyTrainer.Settings.BUNDLED.threads();

  @Option(
      names = "--from",
      paramLabel = "DIR",
      description =
          "Skip training: copy the freshly trained (tied) model in DIR to --out and run only the last stage, planting the micro-ties (what train-tiny does after training).")
  Path from;

  @Override
  public Integer call() throws Exception {
    if (from != null) {
      return plantOnly();
    }
    TinyTrainer.Settings b = TinyTrainer.Settings.BUNDLED;
    if (steps < 1 || documents < 1 || threads < 1) {
      throw new UserInputException("--steps, --documents and --threads must be >= 1");
    }
    TinyTrainer.Settings s =
        new TinyTrainer.Settings(
            seed,
            documents,
            b.heldOutDocuments(),
            b.vocabSize(),
            b.layers(),
            b.width(),
            b.heads(),
            b.context(),
            b.batch(),
            steps,
            b.learningRate(),
            Math.min(b.warmup(), Math.max(1, steps / 10)),
            threads);
    PrintWriter err = spec.commandLine().getErr();
    long t0 = System.nanoTime();
    boolean tty = System.console() != null;
    TinyTrainer.Result r;
    // A bar on a terminal; in a log (CI, nohup) the periodic step lines are the progress.
    try (ProgressBar bar =
        tty
            ? new ProgressBarBuilder()
                .setTaskName("train-tiny")
                .setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(" steps", 1)
                .showSpeed()
                .build()
            : null) {
      r =
          TinyModelBuilder.build(
              s,
              out,
              step -> {
                if (bar != null) {
                  bar.stepTo(step);
                }
              },
              line -> {
                // Over the bar's line on a terminal, so the bar redraws below the log.
                err.println(
                    tty ? "\r" + line + " ".repeat(Math.max(0, 100 - line.length())) : line);
                err.flush();
              });
    }
    PrintWriter o = spec.commandLine().getOut();
    o.printf(
        Locale.ROOT,
        "wrote %s: held-out loss %.4f (train %.4f, initial %.4f), %,d tokens seen in %.0f s%n",
        out,
        r.heldOutLoss(),
        r.trainLoss(),
        r.initialHeldOutLoss(),
        r.tokensSeen(),
        (System.nanoTime() - t0) / 1e9);
    return Main.OK;
  }

  private int plantOnly() throws Exception {
    if (Files.exists(out)) {
      try (var entries = Files.list(out)) {
        if (entries.findAny().isPresent()) {
          throw new UserInputException(
              out + ": exists and is not empty; give a new folder (a model is never overwritten)");
        }
      }
    }
    Files.createDirectories(out);
    for (String f :
        new String[] {
          ModelDir.CONFIG,
          ModelDir.WEIGHTS,
          ModelDir.TOKENIZER,
          BundledModel.NEAR_TIES,
          BundledModel.CARD
        }) {
      if (!Files.exists(from.resolve(f))) {
        throw new UserInputException("--from " + from + ": " + f + " is missing");
      }
      Files.copy(from.resolve(f), out.resolve(f));
    }
    PrintWriter err = spec.commandLine().getErr();
    MicroTiePlanting.plant(
        out,
        seed,
        line -> {
          err.println(line);
          err.flush();
        });
    spec.commandLine().getOut().println("wrote " + out);
    return Main.OK;
  }
}
