package io.tokendrift.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A model folder in Hugging Face layout: {@code config.json}, {@code model.safetensors}, {@code
 * tokenizer.json}.
 *
 * @param dir the folder
 * @param config its config
 */
public record ModelDir(Path dir, Gpt2Config config) {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String TOKENIZER = "tokenizer.json";

  /** Checks the folder holds the three files and reads the config. */
  public static ModelDir open(Path dir) {
    if (!Files.exists(dir)) {
      throw new ModelMissingException(dir + ": no model here; a model is a folder with " + files());
    }
    if (!Files.isDirectory(dir)) {
      throw new ModelFormatException(
          dir + ": not a directory; a model is a folder with " + files());
    }
    for (String f : new String[] {CONFIG, WEIGHTS, TOKENIZER}) {
      if (!Files.isRegularFile(dir.resolve(f))) {
        throw new ModelFormatException(
            dir + ": missing " + f + "; a model folder needs " + files());
      }
    }
    return new ModelDir(dir, Gpt2Config.read(dir.resolve(CONFIG)));
  }

  private static String files() {
    return CONFIG + ", " + WEIGHTS + " and " + TOKENIZER + " (Hugging Face layout)";
  }

  /** Reads and checks the weights. */
  public Gpt2Weights weights() {
    return Gpt2Weights.read(dir.resolve(WEIGHTS), config);
  }

  /** Loads the tokenizer. */
  public TextTokenizer tokenizer() {
    return TextTokenizer.load(dir.resolve(TOKENIZER));
  }

  /** SHA-256 over the three files' bytes, in a fixed order: the model's identity in manifests. */
  public String hash() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (String f : new String[] {CONFIG, WEIGHTS, TOKENIZER}) {
        try (InputStream in = Files.newInputStream(dir.resolve(f))) {
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
