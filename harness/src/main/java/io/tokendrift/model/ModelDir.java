package io.tokendrift.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A model folder in Hugging Face layout: {@code config.json}, {@code model.safetensors} (or {@code
 * model.safetensors.index.json} and its shards), {@code tokenizer.json} (and optionally {@code
 * tokenizer_config.json}). The config's {@code model_type} picks the decoder family.
 *
 * @param dir the folder
 * @param config its config
 */
public record ModelDir(Path dir, ModelConfig config) {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String WEIGHTS_INDEX = "model.safetensors.index.json";
  public static final String TOKENIZER = "tokenizer.json";
  public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

  /** Checks the folder holds the three files and reads the config. */
  public static ModelDir open(Path dir) {
    if (!Files.exists(dir)) {
      throw new ModelMissingException(dir + ": no model here; a model is a folder with " + files());
    }
    if (!Files.isDirectory(dir)) {
      throw new ModelFormatException(
          dir + ": not a directory; a model is a folder with " + files());
    }
    for (String f : new String[] {CONFIG, TOKENIZER}) {
      if (!Files.isRegularFile(dir.resolve(f))) {
        throw new ModelFormatException(
            dir + ": missing " + f + "; a model folder needs " + files());
      }
    }
    if (!Files.isRegularFile(dir.resolve(WEIGHTS))
        && !Files.isRegularFile(dir.resolve(WEIGHTS_INDEX))) {
      throw new ModelFormatException(
          dir
              + ": missing "
              + WEIGHTS
              + " (or "
              + WEIGHTS_INDEX
              + "); a model folder needs "
              + files());
    }
    Path config = dir.resolve(CONFIG);
    ModelConfig c =
        LlamaConfig.modelType(config).equals("gpt2")
            ? Gpt2Config.read(config)
            : LlamaConfig.read(config);
    return new ModelDir(dir, c);
  }

  private static String files() {
    return CONFIG
        + ", "
        + WEIGHTS
        + " (or "
        + WEIGHTS_INDEX
        + " and its shards) and "
        + TOKENIZER
        + " (Hugging Face layout)";
  }

  /** The GPT-2 config, for code that runs GPT-2 only (refused, naming the family, otherwise). */
  public Gpt2Config gpt2() {
    if (config instanceof Gpt2Config g) {
      return g;
    }
    throw new ModelFormatException(
        dir + ": a " + config.modelType() + " model; this needs a GPT-2-family model");
  }

  /** Reads and checks a GPT-2 model's weights. */
  public Gpt2Weights weights() {
    return Gpt2Weights.read(dir.resolve(WEIGHTS), gpt2());
  }

  /** Reads and checks a Llama-family model's weights (one file or shards). */
  public LlamaWeights llamaWeights() {
    if (!(config instanceof LlamaConfig c)) {
      throw new ModelFormatException(dir + ": a GPT-2 model, not a Llama-family one");
    }
    return LlamaWeights.read(dir, c);
  }

  /** Loads the tokenizer, prepending the folder's BOS token when its tokenizer adds one. */
  public TextTokenizer tokenizer() {
    return TextTokenizer.load(dir.resolve(TOKENIZER), Tokenizers.bosToPrepend(this));
  }

  /** The weight files: the single file, or the index and its shards in name order. */
  List<Path> weightFiles() {
    if (Files.isRegularFile(dir.resolve(WEIGHTS))) {
      return List.of(dir.resolve(WEIGHTS));
    }
    List<Path> out = new ArrayList<>();
    out.add(dir.resolve(WEIGHTS_INDEX));
    for (String shard : LlamaWeights.shardFiles(dir.resolve(WEIGHTS_INDEX))) {
      out.add(dir.resolve(shard));
    }
    return out;
  }

  /**
   * SHA-256 over the model's files' bytes, in a fixed order: config, weights, tokenizer (GPT-2's
   * identity is these three, as it always was), then for other families the tokenizer config when
   * present (it decides the BOS token): the model's identity in manifests.
   */
  public String hash() {
    List<Path> files = new ArrayList<>();
    files.add(dir.resolve(CONFIG));
    files.addAll(weightFiles());
    files.add(dir.resolve(TOKENIZER));
    if (!(config instanceof Gpt2Config) && Files.isRegularFile(dir.resolve(TOKENIZER_CONFIG))) {
      files.add(dir.resolve(TOKENIZER_CONFIG));
    }
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (Path f : files) {
        try (InputStream in = Files.newInputStream(f)) {
          int n;
          while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
          }
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new ModelFormatException(dir + ": cannot hash model files: " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
