package io.tokendrift.cli;

import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.tiny.MicroTiePlanting;
import io.tokendrift.tiny.PlantingRefusedException;
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
          buildOrRefuse(
              s,
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

  private static final String[] MODEL_FILES = {
    ModelDir.CONFIG, ModelDir.WEIGHTS, ModelDir.TOKENIZER, BundledModel.NEAR_TIES, BundledModel.CARD
  };

  private int plantOnly() throws Exception {
    // Everything --from must hold is checked before --out is touched: a refusal leaves no folder.
    for (String f : MODEL_FILES) {
      if (!Files.exists(from.resolve(f))) {
        throw new UserInputException(
            "--from "
                + from
                + ": "
                + f
                + " is missing; --from takes the folder of a freshly trained model (what"
                + " train-tiny writes before it plants the micro-ties), e.g. one trained with"
                + " --steps");
      }
    }
    boolean created = newFolder(out);
    try {
      for (String f : MODEL_FILES) {
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
    } catch (PlantingRefusedException e) {
      removeIf(created, out);
      throw new UserInputException(
          e.getMessage()
              + " (nothing was written to "
              + out
              + "); plant into a model trained with the recipe's settings");
    } catch (RuntimeException | java.io.IOException e) {
      removeIf(created, out);
      throw e;
    }
    spec.commandLine().getOut().println("wrote " + out);
    return Main.OK;
  }

  /** Trains and plants; a planting refusal removes what it wrote and says what to change. */
  private TinyTrainer.Result buildOrRefuse(
      TinyTrainer.Settings s,
      java.util.function.IntConsumer step,
      java.util.function.Consumer<String> log)
      throws Exception {
    boolean created = !Files.exists(out);
    try {
      return TinyModelBuilder.build(s, out, step, log);
    } catch (PlantingRefusedException e) {
      removeIf(created, out);
      TinyTrainer.Settings b = TinyTrainer.Settings.BUNDLED;
      throw new UserInputException(
          e.getMessage()
              + " (nothing was kept in "
              + out
              + "). A model trained with --steps "
              + s.steps()
              + " --documents "
              + s.trainDocuments()
              + " is too rough for the planted sites; the bundled recipe uses --steps "
              + b.steps()
              + " --documents "
              + b.trainDocuments());
    }
  }

  /** Makes {@code dir} (refusing a non-empty one); true when it did not exist before. */
  private static boolean newFolder(Path dir) throws java.io.IOException {
    boolean existed = Files.exists(dir);
    if (existed) {
      try (var entries = Files.list(dir)) {
        if (entries.findAny().isPresent()) {
          throw new UserInputException(
              dir + ": exists and is not empty; give a new folder (a model is never overwritten)");
        }
      }
    }
    Files.createDirectories(dir);
    return !existed;
  }

  /** Removes what this command wrote into {@code dir}: the folder itself when it made it. */
  private static void removeIf(boolean created, Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (created || !p.equals(dir)) {
          Files.delete(p);
        }
      }
    }
  }
}
