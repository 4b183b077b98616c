package io.tokendrift.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.djl.DjlEngine;
import io.tokendrift.engine.djl.Gpt2Graph;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.TestCheckpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyTrainerTest {
  @Test
  void rowsStartAtDocumentsAndCarryTheCutDocumentIntoTheNextRow() {
    List<int[]> docs = List.of(new int[] {1, 2, 3}, new int[] {4, 5}, new int[] {6, 7, 8, 9});
    // Rows of 4 + 1 tokens, EOS = 0.
    List<long[]> rows = TinyTrainer.rows(docs, 0, 4);
    assertThat(rows).hasSize(3);
    // Row 0: doc 0 + EOS, then doc 1 is cut after one token.
    assertThat(rows.get(0)).containsExactly(1, 2, 3, 0, 4);
    // Row 1 starts again at doc 1, which fits with its EOS; doc 2 is cut.
    assertThat(rows.get(1)).containsExactly(4, 5, 0, 6, 7);
    // Row 2 starts again at doc 2, which exactly fills it.
    assertThat(rows.get(2)).containsExactly(6, 7, 8, 9, 0);
    // A tail too short for a row is dropped.
    assertThat(TinyTrainer.rows(List.of(new int[] {1, 2}), 0, 4)).isEmpty();
  }

  @Test
  void aDocumentLongerThanARowIsCutAndNotRepeated() {
    List<int[]> docs = List.of(new int[] {1, 2, 3, 4, 5, 6, 7}, new int[] {8, 9, 10});
    List<long[]> rows = TinyTrainer.rows(docs, 0, 3);
    assertThat(rows).hasSize(2);
    assertThat(rows.get(0)).containsExactly(1, 2, 3, 4);
    assertThat(rows.get(1)).containsExactly(8, 9, 10, 0);
  }

  /** Training runs through the inference engine's forward code: same weights, same logits. */
  @Test
  void trainingForwardMatchesTheInferenceEngine() {
    Gpt2Weights w = TestCheckpoints.random(TestCheckpoints.TINY, 11);
    int[] prompt = {5, 17, 3, 60, 2, 9, 41};
    float[] engineLogits;
    try (DjlEngine e = new DjlEngine(w, EngineOptions.DEFAULTS);
        Batch b = e.start(List.of(prompt))) {
      engineLogits = b.logits(0);
    }
    try (NDManager m = NDManager.newBaseManager();
        Gpt2Graph g = Gpt2Graph.trainable(w, m)) {
      long[] ids = new long[prompt.length];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = prompt[i];
      }
      NDArray logits = g.logitsForTraining(m.create(ids, new Shape(1, ids.length)));
      assertThat(logits.getShape()).isEqualTo(new Shape(1, prompt.length, 97));
      float[] last = logits.get("0, -1, :").toFloatArray();
      float scale = 0;
      for (float v : engineLogits) {
        scale = Math.max(scale, Math.abs(v));
      }
      for (int i = 0; i < last.length; i++) {
        assertThat(Math.abs(last[i] - engineLogits[i])).as("logit %d", i).isLessThan(1e-5f * scale);
      }
    }
  }

  /** A short run on a small corpus learns: held-out loss falls well below the uniform ln V. */
  @Test
  void aShortTrainingRunLearnsAndStartsNearUniform(@TempDir Path dir) throws Exception {
    TinyTrainer.Settings s =
        new TinyTrainer.Settings(5, 300, 40, 400, 1, 32, 2, 64, 8, 40, 1e-2f, 5, 1);
    List<String> train = Corpus.documents(s.seed(), 0, s.trainDocuments());
    List<String> held = Corpus.documents(s.seed(), 1, s.heldOutDocuments());
    BpeTrainer.Result bpe = BpeTrainer.train(train, s.vocabSize());
    Path tok = dir.resolve("tokenizer.json");
    Files.writeString(tok, bpe.tokenizerJson());
    List<Integer> steps = new ArrayList<>();
    TinyTrainer.Result r = TinyTrainer.train(s, bpe, tok, train, held, steps::add, line -> {});
    assertThat(steps).hasSize(40).endsWith(40);
    double uniform = Math.log(bpe.vocab().size() + 1);
    // Std-0.02 weights give almost flat logits: the initial loss is close to ln V.
    assertThat(r.initialHeldOutLoss()).isCloseTo(uniform, org.assertj.core.data.Offset.offset(0.1));
    assertThat(r.heldOutLoss()).isLessThan(uniform - 1.5);
    assertThat(r.weights().config().vocabSize()).isEqualTo(bpe.vocab().size() + 1);
    assertThat(r.weights().config().eosTokenId()).isEqualTo(bpe.vocab().size());
  }
}
