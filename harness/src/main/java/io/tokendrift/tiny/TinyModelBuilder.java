package io.tokendrift.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.decode.Completion;
import io.tokendrift.decode.DecodeSettings;
import io.tokendrift.decode.Generation;
import io.tokendrift.decode.SamplingSettings;
import io.tokendrift.decode.StepObserver;
import io.tokendrift.decode.StopConditions;
import io.tokendrift.engine.BatchDecoder;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.Safetensors;
import io.tokendrift.model.Tensor;
import io.tokendrift.model.TextTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * {@code train-tiny}: generates the corpus, trains the tokenizer and the model, and writes a model
 * folder in Hugging Face layout with {@code near_ties.json} and a model card.
 */
public final class TinyModelBuilder {
  /** The planted near-ties, next to the model. */
  public static final String NEAR_TIES = BundledModel.NEAR_TIES;

  public static final String CARD = BundledModel.CARD;

  /** Greedy prompts whose continuations the model card shows and tests check. */
  public static final List<String[]> GREEDY_PROMPTS =
      List.of(
          new String[] {"The capital of France is", " Paris"},
          new String[] {"The capital of Japan is", " Tokyo"},
          new String[] {"Rome is the capital of", " Italy"},
          new String[] {"The author of Hamlet was", " William"},
          new String[] {"The day after Monday is", " Tuesday"},
          new String[] {"3 plus 4 is", " 7"});

  /** Prompts for the card's sample generations (greedy, up to 40 tokens or EOS). */
  static final List<String> SAMPLE_PROMPTS =
      List.of(
          "The capital of France is",
          "Once upon a time there was a",
          "\"Hello, Anna,\" said",
          "The cat sat on the",
          "Temperature scales",
          "Q: What is the capital of Peru? A:");

  private TinyModelBuilder() {}

  /**
   * Builds the model into {@code out}, which must not exist or be empty.
   *
   * @param progress called after each training step
   * @param log one line per stage
   */
  public static TinyTrainer.Result build(
      TinyTrainer.Settings s, Path out, IntConsumer progress, Consumer<String> log)
      throws IOException {
    if (Files.exists(out)) {
      try (var entries = Files.list(out)) {
        if (entries.findAny().isPresent()) {
          throw new IllegalArgumentException(
              out + ": exists and is not empty; give a new folder (a model is never overwritten)");
        }
      }
    }
    Files.createDirectories(out);
    List<String> train = Corpus.documents(s.seed(), 0, s.trainDocuments());
    List<String> held = Corpus.documents(s.seed(), Corpus.HELD_OUT_STREAM, s.heldOutDocuments());
    long chars = train.stream().mapToLong(String::length).sum();
    log.accept(
        String.format(
            Locale.ROOT,
            "corpus: %,d training documents (%,d characters), %,d held-out",
            train.size(),
            chars,
            held.size()));
    BpeTrainer.Result bpe = BpeTrainer.train(train, s.vocabSize());
    log.accept(
        "tokenizer: " + bpe.vocab().size() + " tokens (" + bpe.merges().size() + " merges) + EOS");
    Path tokFile = out.resolve(ModelDir.TOKENIZER);
    write(tokFile, bpe.tokenizerJson());
    TinyTrainer.Result r = TinyTrainer.train(s, bpe, tokFile, train, held, progress, log);
    Gpt2Weights w = r.weights();
    Gpt2Config config = w.config();
    write(out.resolve(ModelDir.CONFIG), config.toJson());
    List<Tensor> tensors = new ArrayList<>();
    for (Map.Entry<String, long[]> e : Gpt2Weights.expectedShapes(config)) {
      Tensor t = w.get(e.getKey());
      // Hugging Face's GPT2LMHeadModel names: transformer.* (lm_head is tied to wte).
      tensors.add(new Tensor("transformer." + e.getKey(), t.shape(), t.data()));
    }
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    meta.put("producer", "tokendrift train-tiny");
    meta.put("seed", Long.toString(s.seed()));
    Safetensors.write(out.resolve(ModelDir.WEIGHTS), tensors, meta);
    ModelDir dir = ModelDir.open(out);
    try (TextTokenizer tok = dir.tokenizer();
        Engine engine = Engines.open(EngineSpec.DEFAULT, dir, EngineOptions.DEFAULTS)) {
      List<NearTieProbe.Measurement> probes = new ArrayList<>();
      for (NearTie t : NearTie.PLANTED) {
        probes.add(NearTieProbe.measure(engine, tok, t));
      }
      write(out.resolve(NEAR_TIES), nearTiesJson(s, train, probes));
      Map<String, String> samples = new LinkedHashMap<>();
      for (String p : SAMPLE_PROMPTS) {
        samples.put(p, greedy(engine, tok, p, 40, config.eosTokenId()));
      }
      Map<String, String> facts = new LinkedHashMap<>();
      for (String[] p : GREEDY_PROMPTS) {
        facts.put(p[0], greedy(engine, tok, p[0], 4, config.eosTokenId()));
      }
      write(out.resolve(CARD), card(s, r, dir, train, probes, samples, facts));
      for (Map.Entry<String, String> e : samples.entrySet()) {
        log.accept("sample: " + e.getKey() + " ->" + e.getValue().replace("\n", "\\n"));
      }
    }
    // Last stage: micro-ties, planted into the trained model by editing an untied LM head.
    MicroTiePlanting.plant(out, s.seed(), log);
    return r;
  }

  /** Greedy continuation of {@code prompt}, stopping at EOS or {@code max} tokens. */
  public static String greedy(Engine engine, TextTokenizer tok, String prompt, int max, int eos) {
    DecodeSettings d =
        new DecodeSettings(
            SamplingSettings.GREEDY,
            new StopConditions(max, Set.of(eos), List.of(), Duration.ZERO),
            0);
    Completion c =
        BatchDecoder.run(
                engine,
                List.of(tok.encode(prompt)),
                List.of(new Generation(d, 0, tok::decode, System::nanoTime)),
                List.of(StepObserver.NONE))
            .get(0);
    return c.text();
  }

  static String nearTiesJson(
      TinyTrainer.Settings s, List<String> train, List<NearTieProbe.Measurement> probes) {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = m.createObjectNode();
    root.put("schema", "tokendrift.near_ties/1");
    root.put(
        "description",
        "Points planted in the bundled model's corpus where the next word is a known coin toss."
            + " intended: the share dealt in the corpus; corpus_count: occurrences of prefix +"
            + " alternative in the training documents; model_probability: the trained model's"
            + " probability of the alternative's first token after the prefix (float32, CPU).");
    root.put("corpus_seed", s.seed());
    ArrayNode list = root.putArray("near_ties");
    for (int i = 0; i < NearTie.PLANTED.size(); i++) {
      NearTie t = NearTie.PLANTED.get(i);
      NearTieProbe.Measurement p = probes.get(i);
      ObjectNode n = list.addObject();
      n.put("id", t.id());
      n.put("prefix", t.prefix());
      n.put("kind", t.kind());
      n.put("suffix", t.suffix());
      ArrayNode alts = n.putArray("alternatives");
      for (int a = 0; a < t.alternatives().size(); a++) {
        NearTie.Alternative alt = t.alternatives().get(a);
        ObjectNode an = alts.addObject();
        an.put("text", alt.text());
        an.put("intended", alt.probability());
        an.put("corpus_count", count(train, t.prefix() + alt.text()));
        an.put("first_token", p.firstTokens()[a]);
        an.put("model_probability", round(p.probabilities()[a]));
      }
    }
    try {
      return m.writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Occurrences of {@code s} in the documents (followed by a non-letter, so " mat" is not " mats").
   */
  static long count(List<String> docs, String s) {
    long n = 0;
    for (String d : docs) {
      int i = d.indexOf(s);
      while (i >= 0) {
        int end = i + s.length();
        if (end >= d.length() || !Character.isLetter(d.charAt(end))) {
          n++;
        }
        i = d.indexOf(s, i + 1);
      }
    }
    return n;
  }

  private static double round(double v) {
    return Math.round(v * 1e6) / 1e6;
  }

  private static String card(
      TinyTrainer.Settings s,
      TinyTrainer.Result r,
      ModelDir dir,
      List<String> train,
      List<NearTieProbe.Measurement> probes,
      Map<String, String> samples,
      Map<String, String> facts)
      throws IOException {
    Gpt2Config c = dir.gpt2();
    StringBuilder b = new StringBuilder();
    b.append("# tokendrift-tiny: the bundled GPT-2\n\n");
    b.append(
        "A GPT-2-architecture model trained by tokendrift's own code (`tokendrift train-tiny`) on a"
            + " corpus tokendrift generates, with near-ties planted at known places. It is the"
            + " default model of every command and the ground truth for the analysis: at the"
            + " planted points the next token is a coin toss by construction, so a divergence"
            + " there is expected numerical noise, and a divergence elsewhere is not.\n\n");
    b.append("It knows only its corpus. It is not a general language model.\n\n");
    b.append("## Files\n\n| file | bytes |\n|---|---:|\n");
    for (String f :
        new String[] {ModelDir.CONFIG, ModelDir.WEIGHTS, ModelDir.TOKENIZER, NEAR_TIES}) {
      b.append(String.format(Locale.ROOT, "| `%s` | %,d |%n", f, Files.size(dir.dir().resolve(f))));
    }
    b.append(
            "\nHugging Face layout: `config.json` (`model_type: gpt2`), `model.safetensors` (F32,"
                + " tensor names `transformer.*`, LM head tied to `wte`), `tokenizer.json` (byte-level"
                + " BPE). SHA-256 of config + weights + tokenizer: `")
        .append(dir.hash())
        .append("`.\n\n");
    b.append("## Architecture\n\n| | |\n|---|---|\n");
    row(b, "layers", c.layers());
    row(b, "width", c.width());
    row(b, "heads", c.heads());
    row(b, "MLP width", c.inner());
    row(b, "context", c.contextLength());
    row(b, "vocabulary", c.vocabSize() + " (" + (c.vocabSize() - 1) + " BPE + `<|endoftext|>`)");
    row(b, "activation", "GELU, tanh form (`gelu_new`)");
    row(b, "parameters", String.format(Locale.ROOT, "%,d", Gpt2Weights.parameterCount(c)));
    long chars = train.stream().mapToLong(String::length).sum();
    b.append("\n## Corpus\n\n");
    b.append(
        String.format(
            Locale.ROOT,
            "Generated by `io.tokendrift.tiny.Corpus` from seed %d: %,d training documents"
                + " (%,d characters, %,d tokens with EOS separators) and %,d held-out documents from"
                + " a separate stream. Simple English: capitals (%d countries, three phrasings),"
                + " authors, sums, weekdays, short stories, dialogue, lists, and sentences from the"
                + " seed document; each document also holds one to three planted sentences.%n%n",
            s.seed(),
            train.size(),
            chars,
            r.trainTokens(),
            s.heldOutDocuments(),
            Corpus.CAPITALS.length));
    b.append("## Planted near-ties\n\n");
    b.append(
        "Each planted alternative is dealt from shuffled decks of ten cards, so its corpus share is"
            + " exactly as intended per deck. `near_ties.json` lists them with token ids.\n\n");
    b.append("| prefix | alternatives | intended | corpus count | model probability |\n");
    b.append("|---|---|---|---|---|\n");
    for (int i = 0; i < NearTie.PLANTED.size(); i++) {
      NearTie t = NearTie.PLANTED.get(i);
      NearTieProbe.Measurement p = probes.get(i);
      List<String> alts = new ArrayList<>();
      List<String> intended = new ArrayList<>();
      List<String> counts = new ArrayList<>();
      List<String> model = new ArrayList<>();
      for (int a = 0; a < t.alternatives().size(); a++) {
        NearTie.Alternative alt = t.alternatives().get(a);
        alts.add("`" + alt.text().strip() + "`");
        intended.add(String.format(Locale.ROOT, "%.1f", alt.probability()));
        counts.add(Long.toString(count(train, t.prefix() + alt.text())));
        model.add(String.format(Locale.ROOT, "%.3f", p.probabilities()[a]));
      }
      b.append("| ")
          .append(t.prefix())
          .append(" | ")
          .append(String.join(" / ", alts))
          .append(" | ")
          .append(String.join(" / ", intended))
          .append(" | ")
          .append(String.join(" / ", counts))
          .append(" | ")
          .append(String.join(" / ", model))
          .append(" |\n");
    }
    b.append("\n## Tokenizer\n\n");
    b.append(
        String.format(
            Locale.ROOT,
            "Byte-level BPE trained by `io.tokendrift.tiny.BpeTrainer` on the training"
                + " documents: GPT-2's pre-tokenizer pattern, 256 byte tokens, %d merges (target"
                + " vocabulary %d; merging stops when no pair occurs twice), ties broken by the"
                + " smaller pair of ids. Loaded through DJL's Hugging Face tokenizers.%n%n",
            r.tokenizer().merges().size(),
            s.vocabSize()));
    b.append("## Training\n\n| | |\n|---|---|\n");
    row(b, "seed", s.seed());
    row(
        b,
        "optimizer",
        "AdamW (ours, in-place NDArray ops), β = (0.9, 0.95), ε = 1e-8, weight decay 0.01 on"
            + " matrices, gradients clipped to global norm 1");
    row(
        b,
        "learning rate",
        String.format(
            Locale.ROOT,
            "%.1e peak, linear warm-up over %d steps, cosine decay to a hundredth",
            s.learningRate(),
            s.warmup()));
    row(b, "steps", s.steps());
    row(
        b,
        "batch",
        s.batch()
            + " rows × "
            + s.context()
            + " tokens; every row starts at a document, documents re-packed in a new order each"
            + " epoch");
    row(b, "tokens seen", String.format(Locale.ROOT, "%,d", r.tokensSeen()));
    row(b, "initialisation", "uniform, standard deviation 0.02 (Philox, seeded); LayerNorm 1, 0");
    row(b, "hardware", "CPU, " + s.threads() + " PyTorch threads, float32");
    row(b, "forward code", "`io.tokendrift.engine.djl.Gpt2Graph`, the inference engine's own");
    b.append("\n## Loss (nats per token, mean over full rows)\n\n| | loss | perplexity |\n");
    b.append("|---|---:|---:|\n");
    loss(b, "held-out, before training", r.initialHeldOutLoss());
    loss(b, "training rows, after", r.trainLoss());
    loss(b, "held-out, after", r.heldOutLoss());
    b.append("\n## Greedy continuations (temperature 0)\n\n| prompt | continuation |\n|---|---|\n");
    for (Map.Entry<String, String> e : facts.entrySet()) {
      b.append("| ").append(e.getKey()).append(" | `").append(e.getValue()).append("` |\n");
    }
    b.append("\n## Sample generations (greedy, up to 40 tokens or `<|endoftext|>`)\n\n");
    for (Map.Entry<String, String> e : samples.entrySet()) {
      b.append("- **").append(e.getKey()).append("**").append(e.getValue()).append("\n");
    }
    b.append("\n## Reproduce\n\n```\n./tokendrift train-tiny --out /tmp/tiny\n```\n\n");
    b.append(
        "Same seed, same settings: the same corpus and tokenizer byte for byte, and a model whose"
            + " greedy outputs on the prompts above are the same.\n\n");
    b.append("## Load with Hugging Face transformers\n\n```python\n");
    b.append("from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast\n");
    b.append("model = GPT2LMHeadModel.from_pretrained(\"path/to/this/folder\")\n");
    b.append(
        "tok = PreTrainedTokenizerFast(tokenizer_file=\"path/to/this/folder/tokenizer.json\")\n");
    b.append("```\n");
    return b.toString();
  }

  private static void row(StringBuilder b, String k, Object v) {
    b.append("| ").append(k).append(" | ").append(v).append(" |\n");
  }

  private static void loss(StringBuilder b, String k, double v) {
    b.append(String.format(Locale.ROOT, "| %s | %.4f | %.2f |%n", k, v, Math.exp(v)));
  }

  private static void write(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
