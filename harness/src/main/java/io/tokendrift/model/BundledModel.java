package io.tokendrift.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model that ships inside tokendrift's jar ({@code train-tiny}'s output, committed under the
 * harness's resources): the default model of every command.
 *
 * <p>DJL's tokenizer and our safetensors reader want files, so the first use copies the resources
 * into a folder under the system temporary directory named after their SHA-256; later uses (and
 * other processes) find it there. The copy is written to a private folder and moved into place in
 * one step, so no process ever sees half a model.
 */
public final class BundledModel {
  /** Classpath folder of the bundled files. */
  static final String RESOURCES = "io/tokendrift/model/tiny/bundled/";

  /** The planted near-ties of the bundled model, beside its weights. */
  public static final String NEAR_TIES = "near_ties.json";

  /** The model card. */
  public static final String CARD = "README.md";

  /** What ships: the model folder, the near-ties and the model card. */
  public static final List<String> FILES =
      List.of(ModelDir.CONFIG, ModelDir.WEIGHTS, ModelDir.TOKENIZER, NEAR_TIES, CARD);

  /** How commands name it in manifests and help texts. */
  public static final String NAME = "bundled:tokendrift-tiny";

  private static Path cached;

  private BundledModel() {}

  /** The folder holding the bundled model, extracted on first use. */
  public static synchronized Path dir() {
    if (cached == null) {
      cached = extract(Path.of(System.getProperty("java.io.tmpdir")));
    }
    return cached;
  }

  /** The bundled model, opened. */
  public static ModelDir open() {
    return ModelDir.open(dir());
  }

  /**
   * The model a {@code --model} option names: the bundled one when absent or given as {@code
   * bundled}, else the folder.
   */
  public static ModelDir openOr(Path model) {
    if (model == null || model.toString().equals("bundled")) {
      return open();
    }
    return ModelDir.open(model);
  }

  /** Copies the resources into {@code root}/tokendrift-models/tiny-HASH unless already there. */
  static Path extract(Path root) {
    Map<String, byte[]> files = new LinkedHashMap<>();
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (String f : FILES) {
      try (InputStream in =
          BundledModel.class.getClassLoader().getResourceAsStream(RESOURCES + f)) {
        if (in == null) {
          throw new IllegalStateException(
              "the bundled model's " + f + " is missing from the class path (" + RESOURCES + ")");
        }
        byte[] bytes = in.readAllBytes();
        md.update(f.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        md.update(bytes);
        files.put(f, bytes);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the bundled model's " + f, e);
      }
    }
    String hash = HexFormat.of().formatHex(md.digest()).substring(0, 16);
    Path target = root.resolve("tokendrift-models").resolve("tiny-" + hash);
    if (complete(target, files)) {
      return target;
    }
    try {
      Files.createDirectories(target.getParent());
      Path staging = Files.createTempDirectory(target.getParent(), "tiny-" + hash + ".partial-");
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        Files.write(staging.resolve(e.getKey()), e.getValue());
      }
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        deleteTree(staging); // another process won the race, or the target is stale
      } catch (IOException e) {
        if (!Files.isDirectory(target)) {
          throw e;
        }
        deleteTree(staging);
      }
      if (!complete(target, files)) {
        throw new IOException(
            target + " exists but does not hold the bundled model; delete it and retry");
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot extract the bundled model under " + root + ": " + e.getMessage(), e);
    }
  }

  private static boolean complete(Path dir, Map<String, byte[]> files) {
    try {
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        Path p = dir.resolve(e.getKey());
        if (!Files.isRegularFile(p) || Files.size(p) != e.getValue().length) {
          return false;
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
