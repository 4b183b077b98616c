package io.tokendrift.cli;

import io.tokendrift.model.BundledModel;
import io.tokendrift.model.GgufWriter;
import io.tokendrift.model.ModelDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Writes a model as GGUF, for llama.cpp and the servers built on it. */
@Command(
    name = "export",
    header = "Write a model as GGUF for llama.cpp, Ollama or LM Studio.",
    footer = {"", "Example:", "  tokendrift export --format gguf --out tiny.gguf"},
    mixinStandardHelpOptions = true,
    description =
        "Write the bundled model (or a GPT-2, Llama, Mistral, Qwen2 or Qwen3 folder with a byte-level BPE tokenizer) as a GGUF file that llama.cpp loads (float32, or binary16 matrices with --type f16): test your llama.cpp, Ollama or LM Studio with the calibrated model. The bundled model's planted micro-ties (prompts, steps, float64 margins) travel in the file's metadata under tokendrift.near_ties.")
final class ExportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--format",
      defaultValue = "gguf",
      description = "Only gguf (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "The file to write.")
  Path out;

  @Option(
      names = "--model",
      paramLabel = "bundled|DIR",
      description = "A GPT-2 or Llama-family model folder (default: bundled).")
  Path model;

  @Option(
      names = "--type",
      defaultValue = "f32",
      paramLabel = "f32|f16",
      description =
          "Storage of the matrices: f32 (the model's own values) or f16 (binary16, rounded to nearest"
              + " even; norms and biases stay f32). Default: ${DEFAULT-VALUE}.")
  String type;

  @Option(names = "--force", description = "Replace an existing file.")
  boolean force;

  @Override
  public Integer call() throws Exception {
    if (!format.equals("gguf")) {
      throw new UserInputException("--format '" + format + "' is not known; allowed: gguf");
    }
    if (!type.equals("f32") && !type.equals("f16")) {
      throw new UserInputException("--type '" + type + "' is not known; allowed: f32, f16");
    }
    if (Files.exists(out) && !force) {
      throw new UserInputException(out + ": exists; --force replaces it");
    }
    Path parent = out.toAbsolutePath().getParent();
    if (!Files.isDirectory(parent)) {
      throw new UserInputException(out + ": its folder " + parent + " does not exist");
    }
    ModelDir dir = BundledModel.openOr(model);
    Map<String, String> extra = new LinkedHashMap<>();
    Path ties = dir.dir().resolve(BundledModel.NEAR_TIES);
    if (Files.exists(ties)) {
      extra.put("tokendrift.near_ties", Files.readString(ties));
    }
    extra.put("tokendrift.model.sha256", dir.hash());
    GgufWriter.write(dir, out, extra, type.equals("f16"));
    spec.commandLine()
        .getOut()
        .printf(
            Locale.ROOT,
            "wrote %s (%,d bytes, GGUF v3, %s, architecture %s)%n",
            out.toAbsolutePath(),
            Files.size(out),
            type.equals("f16") ? "binary16 matrices" : "float32",
            GgufWriter.architecture(dir.config()));
    return Main.OK;
  }
}
