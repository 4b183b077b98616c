package io.tokendrift.tiny;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import io.tokendrift.decode.Draws;
import io.tokendrift.engine.djl.Gpt2Graph;
import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.TextTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Trains the tiny GPT-2 with DJL through the inference engine's own forward code ({@link
 * Gpt2Graph}): next-token cross-entropy over packed rows of whole documents, AdamW with a linear
 * warm-up and cosine decay, a fixed step count and fixed seeds, so the same settings give the same
 * model.
 */
public final class TinyTrainer {
  /**
   * Everything that defines a training run.
   *
   * @param seed corpus, initialisation and batch order
   * @param trainDocuments documents generated for training
   * @param heldOutDocuments documents generated (from another stream) for the held-out loss
   * @param vocabSize BPE vocabulary without EOS (merges stop earlier if no pair repeats)
   * @param layers transformer blocks
   * @param width embedding width
   * @param heads attention heads
   * @param context positions (also the training sequence length)
   * @param batch rows per step
   * @param steps optimizer steps
   * @param learningRate peak learning rate
   * @param warmup linear warm-up steps
   * @param threads PyTorch intra-op threads
   */
  public record Settings(
      long seed,
      int trainDocuments,
      int heldOutDocuments,
      int vocabSize,
      int layers,
      int width,
      int heads,
      int context,
      int batch,
      int steps,
      float learningRate,
      int warmup,
      int threads) {

    /** The bundled model's settings. */
    public static final Settings BUNDLED =
        new Settings(20261127L, 12_000, 600, 1536, 4, 128, 4, 256, 16, 2000, 1.5e-3f, 100, 2);

    public Gpt2Config config(int vocabWithEos) {
      return new Gpt2Config(
          vocabWithEos, context, width, layers, heads, 4 * width, 1e-5, true, vocabWithEos - 1);
    }
  }

  /** What training produced and measured. */
  public record Result(
      Gpt2Weights weights,
      BpeTrainer.Result tokenizer,
      double trainLoss,
      double heldOutLoss,
      double initialHeldOutLoss,
      long trainTokens,
      long tokensSeen,
      double seconds) {}

  private TinyTrainer() {}

  /** Packs documents into rows of {@code length + 1} tokens, each row starting at a document. */
  static List<long[]> rows(List<int[]> docs, int eos, int length) {
    List<long[]> out = new ArrayList<>();
    int i = 0;
    while (i < docs.size()) {
      long[] row = new long[length + 1];
      int n = 0;
      int j = i;
      while (n < row.length && j < docs.size()) {
        int[] d = docs.get(j);
        int k = 0;
        for (; k <= d.length && n < row.length; k++) {
          row[n++] = k < d.length ? d[k] : eos;
        }
        if (k <= d.length) {
          break; // document j did not fit: the next row starts with it
        }
        j++;
      }
      if (n < row.length) {
        break; // the tail that cannot fill a row is dropped
      }
      out.add(row);
      i = j == i ? i + 1 : j; // a document longer than a row is used once, cut
    }
    return out;
  }

  /**
   * Trains a model on the corpus of {@code s}; {@code tokenizerFile} is where the trained
   * tokenizer.json has been written (DJL's tokenizer loads from a file).
   *
   * @param progress called with the step number after each step
   */
  public static Result train(
      Settings s,
      BpeTrainer.Result bpe,
      Path tokenizerFile,
      List<String> trainDocs,
      List<String> heldDocs,
      IntConsumer progress,
      java.util.function.Consumer<String> log) {
    long started = System.nanoTime();
    int eos = bpe.vocab().size();
    Gpt2Config config = s.config(eos + 1);
    List<long[]> train;
    List<long[]> held;
    List<int[]> docs;
    long trainTokens = 0;
    try (TextTokenizer tok = TextTokenizer.load(tokenizerFile)) {
      docs = encode(tok, trainDocs);
      for (int[] d : docs) {
        trainTokens += d.length + 1;
      }
      train = rows(docs, eos, s.context());
      held = rows(encode(tok, heldDocs), eos, s.context());
    }
    log.accept(
        String.format(
            java.util.Locale.ROOT,
            "corpus: %,d training tokens in %,d rows of %d, %,d held-out rows; vocabulary %d + EOS",
            trainTokens,
            train.size(),
            s.context(),
            held.size(),
            eos));
    if (train.size() < s.batch()) {
      throw new IllegalArgumentException(
          "the corpus fills " + train.size() + " rows, fewer than one batch of " + s.batch());
    }
    Gpt2Weights init = RandomWeights.of(config, s.seed(), 0.02);
    try (NDManager root = NDManager.newBaseManager(ai.djl.Device.cpu());
        Gpt2Graph graph = Gpt2Graph.trainable(init, root)) {
      int before = JniUtils.getNumThreads();
      JniUtils.setNumThreads(s.threads()); // after the engine has loaded its native library
      try {
        return train(
            s,
            bpe,
            graph,
            root,
            train,
            held,
            docs,
            eos,
            config,
            trainTokens,
            started,
            progress,
            log);
      } finally {
        JniUtils.setNumThreads(before); // a process-wide setting: give it back
      }
    }
  }

  private static Result train(
      Settings s,
      BpeTrainer.Result bpe,
      Gpt2Graph graph,
      NDManager root,
      List<long[]> train,
      List<long[]> held,
      List<int[]> docs,
      int eos,
      Gpt2Config config,
      long trainTokens,
      long started,
      IntConsumer progress,
      java.util.function.Consumer<String> log) {
    {
      double initialHeld = loss(graph, root, held, s);
      log.accept(String.format(java.util.Locale.ROOT, "initial held-out loss %.4f", initialHeld));
      Tracker lr = schedule(s);
      AdamW adamw = new AdamW(graph.parameters(), root);
      Loss ce = Loss.softmaxCrossEntropyLoss();
      // Each epoch re-packs the documents in a new order, so a different document starts each row:
      // position 0 sees every kind of opening (the planted prefixes among them) many times, as a
      // prompt at position 0 will.
      List<long[]> epochRows = null;
      int epoch = -1;
      int slot = 0;
      double ema = Double.NaN;
      for (int step = 0; step < s.steps(); step++) {
        if (epochRows == null || (slot + 1) * s.batch() > epochRows.size()) {
          epoch++;
          int[] perm = new Draws(s.seed(), 0x5EED_0000_0000L | epoch).permutation(docs.size());
          List<int[]> shuffled = new ArrayList<>(docs.size());
          for (int i : perm) {
            shuffled.add(docs.get(i));
          }
          epochRows = rows(shuffled, eos, s.context());
          slot = 0;
        }
        float value;
        try (NDScope scope = new NDScope()) {
          NDArray[] xy = batch(root, epochRows, null, slot++ * s.batch(), s);
          try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray logits =
                graph.logitsForTraining(xy[0]).reshape(-1, config.vocabSize()); // [B*T, V]
            NDArray l = ce.evaluate(new NDList(xy[1]), new NDList(logits));
            gc.backward(l);
            value = l.getFloat();
          }
        }
        if (!Float.isFinite(value)) {
          throw new IllegalStateException("training diverged: loss " + value + " at step " + step);
        }
        ema = Double.isNaN(ema) ? value : 0.98 * ema + 0.02 * value;
        try (NDScope scope = new NDScope()) {
          if (!adamw.step(lr.getNewValue(step + 1))) {
            log.accept("step " + (step + 1) + ": gradient not finite; update skipped");
          }
        }
        progress.accept(step + 1);
        if ((step + 1) % 200 == 0 || step + 1 == s.steps()) {
          log.accept(
              String.format(
                  java.util.Locale.ROOT,
                  "step %d/%d  train loss (EMA) %.4f  lr %.2e  %.0f s",
                  step + 1,
                  s.steps(),
                  ema,
                  lr.getNewValue(step + 1),
                  (System.nanoTime() - started) / 1e9));
        }
      }
      // Train loss measured like the held-out one: full passes over as many training rows.
      double trainLoss =
          loss(graph, root, train.subList(0, Math.min(train.size(), held.size())), s);
      double heldLoss = loss(graph, root, held, s);
      Gpt2Weights trained = graph.snapshot(Path.of("<trained>"));
      return new Result(
          trained,
          bpe,
          trainLoss,
          heldLoss,
          initialHeld,
          trainTokens,
          (long) s.steps() * s.batch() * s.context(),
          (System.nanoTime() - started) / 1e9);
    }
  }

  private static List<int[]> encode(TextTokenizer tok, List<String> docs) {
    List<int[]> out = new ArrayList<>(docs.size());
    for (String d : docs) {
      out.add(tok.encode(d));
    }
    return out;
  }

  /** Linear warm-up to the peak, then cosine decay to a hundredth of it at the last step. */
  static Tracker schedule(Settings s) {
    float peak = s.learningRate();
    return t -> {
      if (t <= s.warmup()) {
        return peak * t / s.warmup();
      }
      double progress = Math.min(1.0, (t - s.warmup()) / (double) (s.steps() - s.warmup()));
      return (float) (peak * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * progress))));
    };
  }

  /**
   * AdamW with decoupled weight decay on matrices (not on biases, gains or embeddings) and gradient
   * clipping by global norm, written with in-place NDArray ops so the moment arrays are created
   * once, outside every per-step scope.
   */
  static final class AdamW {
    static final float BETA1 = 0.9f;
    static final float BETA2 = 0.95f;
    static final float EPS = 1e-8f;
    static final float WEIGHT_DECAY = 0.01f;
    static final float CLIP_NORM = 1f;

    private final Map<String, NDArray> params;
    private final Map<String, NDArray> m = new java.util.LinkedHashMap<>();
    private final Map<String, NDArray> v = new java.util.LinkedHashMap<>();
    private int t;

    AdamW(Map<String, NDArray> params, NDManager manager) {
      this.params = params;
      for (Map.Entry<String, NDArray> e : params.entrySet()) {
        m.put(e.getKey(), manager.zeros(e.getValue().getShape()));
        v.put(e.getKey(), manager.zeros(e.getValue().getShape()));
      }
    }

    /**
     * One update at learning rate {@code lr}; false (and no update) when a gradient is not finite.
     */
    boolean step(float lr) {
      List<NDArray> grads = new ArrayList<>();
      double sq = 0;
      for (NDArray p : params.values()) {
        NDArray g = p.getGradient();
        grads.add(g);
        sq += g.square().sum().getFloat();
      }
      double norm = Math.sqrt(sq);
      boolean finite = Double.isFinite(norm);
      if (finite) {
        t++;
        float scale = (float) Math.min(1.0, CLIP_NORM / (norm + 1e-6));
        float c1 = (float) (1 - Math.pow(BETA1, t));
        float c2 = (float) (1 - Math.pow(BETA2, t));
        int i = 0;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
          NDArray p = e.getValue();
          NDArray g = grads.get(i++).mul(scale);
          NDArray mi = m.get(e.getKey());
          NDArray vi = v.get(e.getKey());
          mi.muli(BETA1).addi(g.mul(1 - BETA1));
          vi.muli(BETA2).addi(g.square().mul(1 - BETA2));
          NDArray update = mi.div(c1).div(vi.div(c2).sqrt().add(EPS));
          if (p.getShape().dimension() == 2 && !e.getKey().startsWith("w")) {
            update = update.add(p.mul(WEIGHT_DECAY)); // decoupled decay, matrices only
          }
          p.subi(update.mul(lr));
        }
      }
      for (NDArray g : grads) {
        // PyTorch accumulates gradients: clear them for the next step (NaN-proof, unlike g * 0).
        g.set(new ai.djl.ndarray.index.NDIndex("..."), 0f);
      }
      return finite;
    }
  }

  /** Inputs [B, T] and flattened next-token labels [B·T] for rows order[from..from+B). */
  private static NDArray[] batch(
      NDManager m, List<long[]> rows, int[] order, int from, Settings s) {
    int t = s.context();
    int b = s.batch();
    long[] x = new long[b * t];
    long[] y = new long[b * t];
    for (int i = 0; i < b; i++) {
      long[] row = rows.get(order == null ? from + i : order[from + i]);
      System.arraycopy(row, 0, x, i * t, t);
      System.arraycopy(row, 1, y, i * t, t);
    }
    return new NDArray[] {m.create(x, new Shape(b, t)), m.create(y, new Shape(b * t))};
  }

  /** Mean next-token loss (nats) over {@code rows}, without gradients. */
  static double loss(Gpt2Graph graph, NDManager m, List<long[]> rows, Settings s) {
    Loss ce = Loss.softmaxCrossEntropyLoss();
    double sum = 0;
    int n = 0;
    for (int from = 0; from + s.batch() <= rows.size(); from += s.batch()) {
      try (NDScope scope = new NDScope()) {
        NDArray[] xy = batch(m, rows, null, from, s);
        NDArray logits = graph.logitsForTraining(xy[0]).reshape(-1, graph.config().vocabSize());
        sum += ce.evaluate(new NDList(xy[1]), new NDList(logits)).getFloat();
        n++;
      }
    }
    return sum / n;
  }
}
