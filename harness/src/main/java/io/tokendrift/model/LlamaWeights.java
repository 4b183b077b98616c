package io.tokendrift.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Llama-family checkpoint's tensors under their Hugging Face names, checked against the shapes
 * the config implies. Linear weights are in {@code nn.Linear}'s layout, [out, in]. Names are given
 * without the {@code model.} prefix of {@code *ForCausalLM} checkpoints (a bare {@code *Model}
 * checkpoint has none); the untied LM head is the top-level {@code lm_head.weight} [V, H].
 *
 * <p>Read from {@code model.safetensors} or, for sharded checkpoints, from the shards {@code
 * model.safetensors.index.json}'s {@code weight_map} names. Reading checks every shape from the
 * files' headers and loads no data: {@link #get} reads a tensor from its file when asked, so an
 * engine that converts the tensors one by one into its own memory never holds a second copy of the
 * weights. F16 and BF16 are widened to float32 in Java by {@link Safetensors}.
 */
public final class LlamaWeights {
  /** The single-file checkpoint. */
  public static final String SINGLE = "model.safetensors";

  /** The index of a sharded checkpoint. */
  public static final String INDEX = "model.safetensors.index.json";

  /** The untied LM head's tensor name: top level, never under {@code model.}. */
  public static final String LM_HEAD = "lm_head.weight";

  private final LlamaConfig config;
  private final Map<String, Tensor> tensors; // in memory (tests, generated checkpoints)
  private final Map<String, Path> files; // or: name -> the file it is read from on demand
  private final Map<String, long[]> shapes; // of the on-demand tensors, from the headers
  private final String prefix;
  private final Path source;

  private LlamaWeights(
      LlamaConfig config,
      Map<String, Tensor> tensors,
      Map<String, Path> files,
      Map<String, long[]> shapes,
      String prefix,
      Path source) {
    this.config = config;
    this.tensors = tensors;
    this.files = files;
    this.shapes = shapes;
    this.prefix = prefix;
    this.source = source;
  }

  /**
   * Reads the checkpoint in {@code dir}: {@code model.safetensors} when present (as transformers
   * prefers it), else the shards of {@code model.safetensors.index.json}.
   */
  public static LlamaWeights read(Path dir, LlamaConfig config) {
    Path single = dir.resolve(SINGLE);
    Path index = dir.resolve(INDEX);
    Set<String> wanted = wantedNames(config);
    Map<String, Path> files = new HashMap<>();
    Map<String, long[]> shapes = new HashMap<>();
    Path source;
    if (Files.isRegularFile(single)) {
      source = single;
      Safetensors.shapes(single)
          .forEach(
              (n, s) -> {
                if (wanted.contains(n)) {
                  files.put(n, single);
                  shapes.put(n, s);
                }
              });
    } else if (Files.isRegularFile(index)) {
      source = index;
      scanSharded(index, wanted, files, shapes);
    } else {
      throw new ModelFormatException(
          dir + ": no weights; expected " + SINGLE + " or " + INDEX + " (Hugging Face layout)");
    }
    String prefix = shapes.containsKey("model.embed_tokens.weight") ? "model." : "";
    LlamaWeights w = new LlamaWeights(config, Map.of(), files, shapes, prefix, source);
    w.checkAll();
    return w;
  }

  /** Reads every tensor into memory (a copy that {@link #read}'s on-demand weights avoid). */
  public LlamaWeights loaded() {
    if (files.isEmpty()) {
      return this;
    }
    Map<String, Tensor> all = new HashMap<>();
    for (String n : files.keySet()) {
      all.put(n, load(n));
    }
    return of(all, config, source);
  }

  private Tensor load(String fullName) {
    Tensor t = Safetensors.read(files.get(fullName), fullName::equals).get(fullName);
    if (t == null) {
      throw new ModelFormatException(files.get(fullName) + ": tensor '" + fullName + "' vanished");
    }
    return t;
  }

  private boolean has(String fullName) {
    return tensors.containsKey(fullName) || files.containsKey(fullName);
  }

  private long[] shapeOf(String fullName) {
    Tensor t = tensors.get(fullName);
    return t != null ? t.shape() : shapes.get(fullName);
  }

  /** Wraps tensors already in memory; {@code source} is named in error messages. */
  public static LlamaWeights of(Map<String, Tensor> tensors, LlamaConfig config, Path source) {
    String prefix = tensors.containsKey("model.embed_tokens.weight") ? "model." : "";
    LlamaWeights w = new LlamaWeights(config, tensors, Map.of(), Map.of(), prefix, source);
    w.checkAll();
    return w;
  }

  /** The names (with and without {@code model.}) a checkpoint of this config is read for. */
  private static Set<String> wantedNames(LlamaConfig c) {
    Set<String> out = new java.util.HashSet<>();
    for (Map.Entry<String, long[]> e : expectedShapes(c)) {
      out.add(e.getKey());
      out.add("model." + e.getKey());
    }
    if (!c.tiedHead()) {
      out.add(LM_HEAD);
    }
    return out;
  }

  /** The shard files {@code index}'s weight_map names, each once, in name order. */
  public static List<String> shardFiles(Path index) {
    JsonNode map = LlamaConfigReader.parse(index).get("weight_map");
    if (map == null || !map.isObject()) {
      throw new ModelFormatException(
          index + ": field 'weight_map' is missing; allowed: an object from tensor name to shard");
    }
    java.util.SortedSet<String> out = new java.util.TreeSet<>();
    map.elements().forEachRemaining(v -> out.add(v.asText("")));
    return List.copyOf(out);
  }

  private static void scanSharded(
      Path index, Set<String> wanted, Map<String, Path> files, Map<String, long[]> shapes) {
    JsonNode map = LlamaConfigReader.parse(index).get("weight_map");
    if (map == null || !map.isObject()) {
      throw new ModelFormatException(
          index + ": field 'weight_map' is missing; allowed: an object from tensor name to shard");
    }
    // Shard -> the tensors it should hold, shards in name order so reading is reproducible.
    Map<String, List<String>> byShard = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String shard = e.getValue().asText("");
      if (!e.getValue().isTextual()
          || shard.isEmpty()
          || shard.contains("/")
          || shard.contains("\\")) {
        throw new ModelFormatException(
            index
                + ": weight_map['"
                + e.getKey()
                + "'] is "
                + e.getValue()
                + "; allowed: the file name of a shard beside the index");
      }
      if (wanted.contains(e.getKey())) {
        byShard.computeIfAbsent(shard, k -> new ArrayList<>()).add(e.getKey());
      }
    }
    for (Map.Entry<String, List<String>> s : byShard.entrySet()) {
      Path shard = index.resolveSibling(s.getKey());
      if (!Files.isRegularFile(shard)) {
        throw new ModelFormatException(
            index
                + ": shard "
                + s.getKey()
                + " (holding '"
                + s.getValue().get(0)
                + "'"
                + (s.getValue().size() > 1 ? " and " + (s.getValue().size() - 1) + " more" : "")
                + ") is missing from "
                + index.getParent());
      }
      Map<String, long[]> got = Safetensors.shapes(shard);
      for (String name : s.getValue()) {
        if (!got.containsKey(name)) {
          throw new ModelFormatException(
              index + ": weight_map puts '" + name + "' in " + s.getKey() + ", which lacks it");
        }
        files.put(name, shard);
        shapes.put(name, got.get(name));
      }
    }
  }

  public LlamaConfig config() {
    return config;
  }

  /** The file the tensors came from (the index for a sharded checkpoint). */
  public Path source() {
    return source;
  }

  /** The tensor {@code name} without the {@code model.} prefix, e.g. {@code norm.weight}. */
  public Tensor get(String name) {
    return full(prefix + name, source + ": tensor '" + prefix + name + "' is missing");
  }

  /** The tensor {@code fullName}: in memory, or read from its file now. */
  private Tensor full(String fullName, String missing) {
    Tensor t = tensors.get(fullName);
    if (t != null) {
      return t;
    }
    if (files.containsKey(fullName)) {
      return load(fullName);
    }
    throw new ModelFormatException(missing);
  }

  /**
   * The name of layer {@code i}'s tensor {@code suffix}, e.g. {@code layer(0,
   * "mlp.up_proj.weight")}.
   */
  public static String layer(int i, String suffix) {
    return "layers." + i + "." + suffix;
  }

  /** The token embedding [V, H]. */
  public Tensor embedding() {
    return get("embed_tokens.weight");
  }

  /** The LM head [V, H]: the embedding when tied, else {@code lm_head.weight}. */
  public Tensor lmHead() {
    if (config.tiedHead()) {
      return embedding();
    }
    return full(
        LM_HEAD,
        source
            + ": tensor '"
            + LM_HEAD
            + "' is missing (config.json unties the head: tie_word_embeddings is false)");
  }

  /**
   * Names (without {@code model.}) and shapes every checkpoint of this config holds, the untied LM
   * head excepted; in the order of transformers' module tree.
   */
  public static List<Map.Entry<String, long[]>> expectedShapes(LlamaConfig c) {
    long h = c.hiddenSize();
    long q = (long) c.heads() * c.headDim();
    long kv = (long) c.kvHeads() * c.headDim();
    long inter = c.intermediateSize();
    Map<String, long[]> out = new LinkedHashMap<>();
    out.put("embed_tokens.weight", new long[] {c.vocabSize(), h});
    for (int i = 0; i < c.layers(); i++) {
      out.put(layer(i, "input_layernorm.weight"), new long[] {h});
      linear(out, layer(i, "self_attn.q_proj"), q, h, c.qkvBias());
      linear(out, layer(i, "self_attn.k_proj"), kv, h, c.qkvBias());
      linear(out, layer(i, "self_attn.v_proj"), kv, h, c.qkvBias());
      linear(out, layer(i, "self_attn.o_proj"), h, q, c.outputBias());
      if (c.qkNorm()) {
        out.put(layer(i, "self_attn.q_norm.weight"), new long[] {c.headDim()});
        out.put(layer(i, "self_attn.k_norm.weight"), new long[] {c.headDim()});
      }
      out.put(layer(i, "post_attention_layernorm.weight"), new long[] {h});
      linear(out, layer(i, "mlp.gate_proj"), inter, h, c.mlpBias());
      linear(out, layer(i, "mlp.up_proj"), inter, h, c.mlpBias());
      linear(out, layer(i, "mlp.down_proj"), h, inter, c.mlpBias());
    }
    out.put("norm.weight", new long[] {h});
    return List.copyOf(out.entrySet());
  }

  private static void linear(Map<String, long[]> out, String name, long o, long in, boolean bias) {
    out.put(name + ".weight", new long[] {o, in});
    if (bias) {
      out.put(name + ".bias", new long[] {o});
    }
  }

  /** Parameters of a model of this config (a tied LM head counted once). */
  public static long parameterCount(LlamaConfig c) {
    long n = c.tiedHead() ? 0 : (long) c.vocabSize() * c.hiddenSize();
    for (Map.Entry<String, long[]> e : expectedShapes(c)) {
      n += Tensor.elementCount(e.getValue());
    }
    return n;
  }

  private void checkAll() {
    for (Map.Entry<String, long[]> e : expectedShapes(config)) {
      String n = prefix + e.getKey();
      if (!has(n)) {
        throw new ModelFormatException(source + ": tensor '" + n + "' is missing");
      }
      checkShape(n, shapeOf(n), e.getValue());
    }
    if (!config.tiedHead()) {
      if (!has(LM_HEAD)) {
        lmHead(); // names what is missing
      }
      checkShape(LM_HEAD, shapeOf(LM_HEAD), new long[] {config.vocabSize(), config.hiddenSize()});
    }
  }

  private void checkShape(String name, long[] shape, long[] want) {
    if (!Arrays.equals(shape, want)) {
      throw new ModelFormatException(
          source
              + ": tensor '"
              + name
              + "' has shape "
              + Arrays.toString(shape)
              + ", config.json implies "
              + Arrays.toString(want));
    }
  }
}
