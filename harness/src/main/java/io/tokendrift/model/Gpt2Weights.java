package io.tokendrift.model;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A GPT-2 checkpoint's tensors, found by their Hugging Face names (with or without the {@code
 * transformer.} prefix) and checked against the config's shapes. The LM head is {@code wte} unless
 * the config unties it ({@code tie_word_embeddings: false}); then it is the checkpoint's top-level
 * {@code lm_head.weight} [V, C], as Hugging Face's GPT2LMHeadModel saves it. Linear weights are in
 * GPT-2's Conv1D layout, [in, out].
 */
public final class Gpt2Weights {
  private final Gpt2Config config;
  private final Map<String, Tensor> tensors;
  private final String prefix;
  private final Path file;

  private Gpt2Weights(Gpt2Config config, Map<String, Tensor> tensors, String prefix, Path file) {
    this.config = config;
    this.tensors = tensors;
    this.prefix = prefix;
    this.file = file;
  }

  /** Reads {@code model.safetensors} and checks every tensor the config implies. */
  public static Gpt2Weights read(Path file, Gpt2Config config) {
    return of(Safetensors.read(file), config, file);
  }

  /** Wraps tensors already in memory; {@code file} is named in error messages. */
  public static Gpt2Weights of(Map<String, Tensor> tensors, Gpt2Config config, Path file) {
    String prefix = tensors.containsKey("transformer.wte.weight") ? "transformer." : "";
    Gpt2Weights w = new Gpt2Weights(config, tensors, prefix, file);
    w.checkAll();
    return w;
  }

  public Gpt2Config config() {
    return config;
  }

  /** The tensor named {@code name} without prefix, e.g. {@code h.0.attn.c_attn.weight}. */
  public Tensor get(String name) {
    Tensor t = tensors.get(prefix + name);
    if (t == null) {
      throw new ModelFormatException(file + ": tensor '" + prefix + name + "' is missing");
    }
    return t;
  }

  /** The untied LM head's tensor name: top level, never under {@code transformer.}. */
  public static final String LM_HEAD = "lm_head.weight";

  /** The LM head [V, C]: {@code wte} when tied, else {@code lm_head.weight}. */
  public Tensor lmHead() {
    if (config.tiedHead()) {
      return get("wte.weight");
    }
    Tensor t = tensors.get(LM_HEAD);
    if (t == null) {
      throw new ModelFormatException(
          file + ": tensor '" + LM_HEAD + "' is missing (config.json unties the head)");
    }
    return t;
  }

  /** Names (without prefix) and shapes a GPT-2 of this config must have. */
  public static List<Map.Entry<String, long[]>> expectedShapes(Gpt2Config c) {
    long d = c.width();
    var out = new java.util.ArrayList<Map.Entry<String, long[]>>();
    out.add(Map.entry("wte.weight", new long[] {c.vocabSize(), d}));
    out.add(Map.entry("wpe.weight", new long[] {c.contextLength(), d}));
    for (int i = 0; i < c.layers(); i++) {
      String h = "h." + i + ".";
      out.add(Map.entry(h + "ln_1.weight", new long[] {d}));
      out.add(Map.entry(h + "ln_1.bias", new long[] {d}));
      out.add(Map.entry(h + "attn.c_attn.weight", new long[] {d, 3 * d}));
      out.add(Map.entry(h + "attn.c_attn.bias", new long[] {3 * d}));
      out.add(Map.entry(h + "attn.c_proj.weight", new long[] {d, d}));
      out.add(Map.entry(h + "attn.c_proj.bias", new long[] {d}));
      out.add(Map.entry(h + "ln_2.weight", new long[] {d}));
      out.add(Map.entry(h + "ln_2.bias", new long[] {d}));
      out.add(Map.entry(h + "mlp.c_fc.weight", new long[] {d, c.inner()}));
      out.add(Map.entry(h + "mlp.c_fc.bias", new long[] {c.inner()}));
      out.add(Map.entry(h + "mlp.c_proj.weight", new long[] {c.inner(), d}));
      out.add(Map.entry(h + "mlp.c_proj.bias", new long[] {d}));
    }
    out.add(Map.entry("ln_f.weight", new long[] {d}));
    out.add(Map.entry("ln_f.bias", new long[] {d}));
    return out;
  }

  /** Parameters of a GPT-2 of this config (a tied LM head counted once, an untied one added). */
  public static long parameterCount(Gpt2Config c) {
    long n = c.tiedHead() ? 0 : (long) c.vocabSize() * c.width();
    for (Map.Entry<String, long[]> e : expectedShapes(c)) {
      n += Tensor.elementCount(e.getValue());
    }
    return n;
  }

  private void checkAll() {
    if (!config.tiedHead()) {
      long[] want = {config.vocabSize(), config.width()};
      if (!Arrays.equals(lmHead().shape(), want)) {
        throw new ModelFormatException(
            file
                + ": tensor '"
                + LM_HEAD
                + "' has shape "
                + lmHead().shapeText()
                + ", config.json implies "
                + Arrays.toString(want));
      }
    }
    for (Map.Entry<String, long[]> e : expectedShapes(config)) {
      Tensor t = get(e.getKey());
      if (!Arrays.equals(t.shape(), e.getValue())) {
        throw new ModelFormatException(
            file
                + ": tensor '"
                + prefix
                + e.getKey()
                + "' has shape "
                + t.shapeText()
                + ", config.json implies "
                + Arrays.toString(e.getValue()));
      }
    }
  }
}
