package io.tokendrift.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokendrift.cli.Main;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.djl.DjlEngine;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.NearTiesFile;
import io.tokendrift.model.Safetensors;
import io.tokendrift.model.TextTokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The model that ships: its files, its greedy facts, and its planted near-ties. */
@Tag("numerics")
class BundledModelTest {
  private static ModelDir dir;
  private static TextTokenizer tok;
  private static DjlEngine engine;

  @BeforeAll
  static void open() {
    dir = BundledModel.open();
    tok = dir.tokenizer();
    engine = new DjlEngine(dir.weights(), EngineOptions.DEFAULTS);
  }

  @AfterAll
  static void close() {
    engine.close();
    tok.close();
  }

  @Test
  void shipsAHuggingFaceGpt2FolderUnderEightMegabytes() throws Exception {
    long total = 0;
    for (String f : BundledModel.FILES) {
      total += Files.size(dir.dir().resolve(f));
    }
    assertThat(total).isLessThanOrEqualTo(8L << 20);
    JsonNode config = new ObjectMapper().readTree(dir.dir().resolve("config.json").toFile());
    assertThat(config.get("model_type").asText()).isEqualTo("gpt2");
    assertThat(config.get("activation_function").asText()).isEqualTo("gelu_new");
    // Hugging Face's GPT2LMHeadModel names; the head is untied (micro-ties edit it).
    assertThat(Safetensors.read(dir.dir().resolve("model.safetensors")).keySet())
        .allMatch(n -> n.startsWith("transformer.") || n.equals("lm_head.weight"))
        .contains("transformer.wte.weight", "transformer.h.3.mlp.c_proj.bias", "lm_head.weight");
    assertThat(config.get("tie_word_embeddings").asBoolean()).isFalse();
    assertThat(dir.gpt2().layers()).isEqualTo(4);
    assertThat(dir.gpt2().width()).isEqualTo(128);
    assertThat(dir.config().contextLength()).isEqualTo(256);
    assertThat(dir.config().vocabSize()).isBetween(1000, 2049);
    assertThat(tok.tokenText(dir.gpt2().eosTokenId())).isEqualTo("<|endoftext|>");
    assertThat(Files.readString(dir.dir().resolve("README.md")))
        .contains("held-out, after")
        .contains("The cat sat on the");
  }

  @Test
  void greedyGenerateContinuesTheCapitalOfFranceWithParis() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code =
        cl.execute(
            "generate",
            "--prompt",
            "The capital of France is",
            "--temperature",
            "0",
            "--max-tokens",
            "4");
    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString()).startsWith("The capital of France is Paris");
  }

  @Test
  void greedyContinuationsOfTheCardsFactPrompts() {
    for (String[] p : TinyModelBuilder.GREEDY_PROMPTS) {
      String c = TinyModelBuilder.greedy(engine, tok, p[0], 3, dir.gpt2().eosTokenId());
      assertThat(c).as(p[0]).startsWith(p[1]);
    }
  }

  /** The acceptance: every planted point read from near_ties.json, checked on the model. */
  @Test
  void everyPlantedNearTieHasItsProbabilities() {
    List<NearTiesFile.Entry> ties = NearTiesFile.read(dir.dir().resolve("near_ties.json"));
    assertThat(ties).hasSize(NearTie.PLANTED.size());
    List<String> failures = new ArrayList<>();
    int fifty = 0;
    int ninety = 0;
    for (int i = 0; i < ties.size(); i++) {
      NearTiesFile.Entry e = ties.get(i);
      NearTie planted = NearTie.PLANTED.get(i);
      assertThat(e.prefix()).isEqualTo(planted.prefix());
      NearTieProbe.Measurement m = NearTieProbe.measure(engine, tok, planted);
      for (int a = 0; a < e.alternatives().size(); a++) {
        assertThat(m.firstTokens()[a]).as(e.id()).isEqualTo(e.alternatives().get(a).firstToken());
      }
      String seen =
          String.format(
              Locale.ROOT,
              "%s (%s): top ids %d %d with %.3f %.3f; alternatives %s",
              e.id(),
              e.kind(),
              m.top()[0],
              m.top()[1],
              m.topProbabilities()[0],
              m.topProbabilities()[1],
              java.util.Arrays.toString(m.probabilities()));
      switch (e.kind()) {
        case "50/50" -> {
          fifty++;
          boolean ok =
              m.topTwoAreAlternatives()
                  && inRange(m.topProbabilities()[0], 0.35, 0.65)
                  && inRange(m.topProbabilities()[1], 0.35, 0.65);
          if (!ok) {
            failures.add(seen);
          }
        }
        case "90/10" -> {
          ninety++;
          int fav = e.alternatives().indexOf(e.favourite());
          if (!(m.top()[0] == m.firstTokens()[fav] && m.probabilities()[fav] >= 0.8)) {
            failures.add(seen);
          }
        }
        case "70/30" -> {
          int fav = e.alternatives().indexOf(e.favourite());
          if (!(m.topTwoAreAlternatives()
              && m.top()[0] == m.firstTokens()[fav]
              && inRange(m.probabilities()[fav], 0.55, 0.85))) {
            failures.add(seen);
          }
        }
        default -> failures.add("unknown kind " + seen);
      }
    }
    assertThat(fifty).isGreaterThanOrEqualTo(5);
    assertThat(ninety).isGreaterThanOrEqualTo(3);
    assertThat(failures).isEmpty();
  }

  private static boolean inRange(double v, double lo, double hi) {
    return v >= lo && v <= hi;
  }
}
