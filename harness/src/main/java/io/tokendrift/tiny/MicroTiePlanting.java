package io.tokendrift.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.Safetensors;
import io.tokendrift.model.Tensor;
import io.tokendrift.model.TextTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code train-tiny}'s last stage: plants {@link MicroTies} into a trained (tied) model folder and
 * rewrites it untied — config, weights with {@code lm_head.weight}, {@code near_ties.json} with a
 * {@code micro_ties} list, and the model card's micro-tie section.
 */
public final class MicroTiePlanting {
  /** The quickstart's prompts and the CI self-check's: their greedy paths must not change. */
  static final List<String> EXPERIMENT_PROMPTS =
      List.of(
          "The capital of France is",
          "The cat sat on the",
          "She poured a cup of",
          "The coin landed on",
          "The weather today is",
          "At night the sky is",
          "Once upon a time there was a",
          "Temperature scales",
          "\"Hello, Anna,\" said");

  /** Steps of every protected greedy path: the card's samples are 40 tokens long. */
  static final int PROTECTED_STEPS = 40;

  /** Held-out documents for the direction and the loss check. */
  static final int HELD_OUT = 200;

  private MicroTiePlanting() {}

  /**
   * Plants the bundled sites into the tied model in {@code dir}, in place.
   *
   * @param seed the corpus seed (for the held-out documents)
   */
  public static MicroTies.Result plant(Path dir, long seed, Consumer<String> log)
      throws IOException {
    ModelDir tied = ModelDir.open(dir);
    if (!tied.gpt2().tiedHead()) {
      throw new IllegalArgumentException(
          dir
              + ": already has an untied head; micro-ties are planted into a freshly trained model");
    }
    List<String> prompts = new ArrayList<>();
    for (String[] p : TinyModelBuilder.GREEDY_PROMPTS) {
      prompts.add(p[0]);
    }
    prompts.addAll(TinyModelBuilder.SAMPLE_PROMPTS);
    for (NearTie t : NearTie.PLANTED) {
      prompts.add(t.prefix());
    }
    prompts.addAll(EXPERIMENT_PROMPTS);
    List<String> held = Corpus.documents(seed, Corpus.HELD_OUT_STREAM, HELD_OUT);
    MicroTies.Result r;
    try (TextTokenizer tok = tied.tokenizer()) {
      try {
        r =
            MicroTies.plant(
                tied.weights(),
                tok,
                MicroTies.SITES,
                List.copyOf(new LinkedHashSet<>(prompts)),
                PROTECTED_STEPS,
                held);
      } catch (IllegalStateException e) {
        // The sites' paths or margins are not there in this model: a refusal, not a bug.
        throw new PlantingRefusedException(
            "the micro-ties cannot be planted in this model: " + e.getMessage(), e);
      }
      write(dir, r);
      ModelDir planted = ModelDir.open(dir);
      Path nt = dir.resolve(BundledModel.NEAR_TIES);
      double moved = rewriteNearTies(nt, planted, tok, r);
      Path card = dir.resolve(BundledModel.CARD);
      if (Files.exists(card)) {
        String text = Files.readString(card, StandardCharsets.UTF_8);
        atomicWrite(card, MicroTieCard.update(text, planted, tok, r, moved));
      }
    }
    for (MicroTies.Planted t : r.ties()) {
      log.accept(
          String.format(
              Locale.ROOT,
              "micro-tie %s: step %d, margin %.4f -> %.3e nats (float64)",
              t.site().id(),
              t.site().step(),
              t.before(),
              t.margin()));
    }
    log.accept(
        String.format(
            Locale.ROOT,
            "held-out loss %.5f -> %.5f (%+.3f%%)",
            r.heldOutLossBefore(),
            r.heldOutLossAfter(),
            100 * (r.heldOutLossAfter() / r.heldOutLossBefore() - 1)));
    return r;
  }

  private static void write(Path dir, MicroTies.Result r) throws IOException {
    Gpt2Weights w = r.weights();
    List<Tensor> tensors = new ArrayList<>();
    for (Map.Entry<String, long[]> e : Gpt2Weights.expectedShapes(w.config())) {
      Tensor t = w.get(e.getKey());
      tensors.add(new Tensor("transformer." + e.getKey(), t.shape(), t.data()));
    }
    Tensor head = w.lmHead();
    tensors.add(new Tensor(Gpt2Weights.LM_HEAD, head.shape(), head.data()));
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    meta.put("producer", "tokendrift train-tiny (micro-ties planted)");
    Path tmp = dir.resolve(ModelDir.WEIGHTS + ".tmp");
    Safetensors.write(tmp, tensors, meta);
    Files.move(
        tmp,
        dir.resolve(ModelDir.WEIGHTS),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    // The config last: until it unties the head, the folder is still the tied model it was (the
    // extra lm_head.weight is ignored), so a crash in between leaves a folder that loads and
    // plants.
    atomicWrite(dir.resolve(ModelDir.CONFIG), w.config().toJson());
  }

  /**
   * Re-measures the planted near-ties' model probabilities with the planted head and adds the
   * micro-ties; returns the largest change of a near-tie probability.
   */
  private static double rewriteNearTies(
      Path file, ModelDir planted, TextTokenizer tok, MicroTies.Result r) throws IOException {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = (ObjectNode) m.readTree(Files.readString(file, StandardCharsets.UTF_8));
    double moved = 0;
    try (Engine engine = Engines.open(EngineSpec.DEFAULT, planted, EngineOptions.DEFAULTS)) {
      ArrayNode list = (ArrayNode) root.get("near_ties");
      for (int i = 0; i < list.size(); i++) {
        ObjectNode n = (ObjectNode) list.get(i);
        NearTie t = NearTie.PLANTED.get(i);
        NearTieProbe.Measurement p = NearTieProbe.measure(engine, tok, t);
        ArrayNode alts = (ArrayNode) n.get("alternatives");
        for (int a = 0; a < alts.size(); a++) {
          ObjectNode an = (ObjectNode) alts.get(a);
          double now = Math.round(p.probabilities()[a] * 1e6) / 1e6;
          moved = Math.max(moved, Math.abs(now - an.get("model_probability").asDouble()));
          an.put("model_probability", now);
        }
      }
    }
    root.put(
        "micro_ties_description",
        "Contexts on the float64 greedy path of a quickstart prompt where the top-1/top-2 margin was"
            + " set between 1e-7 and 1e-4 nats (below float32 noise) by editing the untied LM head:"
            + " step is the generated token's index, path the tokens generated before it,"
            + " margin_float64 the margin of the stored float32 weights computed in float64.");
    ArrayNode micro = root.putArray("micro_ties");
    for (MicroTies.Planted t : r.ties()) {
      ObjectNode n = micro.addObject();
      n.put("id", t.site().id());
      n.put("prompt_id", t.site().promptId());
      n.put("prompt", t.site().prompt());
      n.put("step", t.site().step());
      ArrayNode path = n.putArray("path");
      for (int id : t.path()) {
        path.add(id);
      }
      n.put("path_text", tok.decode(t.path()));
      ObjectNode a = n.putObject("top1");
      a.put("id", t.top1());
      a.put("text", tok.decode(new int[] {t.top1()}));
      ObjectNode b = n.putObject("top2");
      b.put("id", t.top2());
      b.put("text", tok.decode(new int[] {t.top2()}));
      n.put("margin_before", Math.round(t.before() * 1e6) / 1e6);
      n.put("target", t.site().target());
      n.put("margin_float64", t.margin());
    }
    atomicWrite(file, m.writeValueAsString(root) + "\n");
    return moved;
  }

  static void atomicWrite(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
