package io.tokendrift.tiny;

import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.Tensor;
import io.tokendrift.model.TextTokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.DecompositionSolver;
import org.apache.commons.math3.linear.LUDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.RealVector;

/**
 * Plants micro-ties: contexts on the greedy path of a prompt where the float64 top-1/top-2 margin
 * is set to a chosen value between 1e-7 and 1e-4 nats — below the float32 noise of batch shapes and
 * summation orders, so those conditions flip them, as batch-dependent kernels flip real models'
 * near-ties.
 *
 * <p>Method: the LM head is untied (a copy of {@code wte}) and, for each micro-tie k with context
 * hidden state x_k, top-1 a_k, runner-up b_k and float64 margin m_k, the runner-up's row moves by
 * (m_k − target_k) · v_k. The direction v_k has v_k · x_k = 1, v_k · x_j = 0 for every other
 * micro-tie, and otherwise the least weight on the hidden states the model meets (held-out text and
 * the greedy paths of the prompts that matter), i.e. v_k minimises v^T C v under those constraints:
 * v_k = C⁻¹X (XᵀC⁻¹X)⁻¹ e_k. The head is then rounded to float32 and each margin brought to its
 * target by moving one component of b_k's row by whole float32 ulps, with the margin re-read in
 * float64 after each move.
 */
final class MicroTies {
  /** Targets must lie in this range (nats), the contract. */
  static final double MIN = 1e-7;

  static final double MAX = 1e-4;

  /**
   * Where to plant: a prompt, the greedy step, and the float64 margin to set there.
   *
   * @param id stable name
   * @param promptId the quickstart prompt's id
   * @param prompt its text
   * @param step the generated token's index (0 = the first after the prompt)
   * @param target the margin to set (nats)
   */
  record Site(String id, String promptId, String prompt, int step, double target) {}

  /**
   * A planted micro-tie.
   *
   * @param path the greedy tokens generated before the tie (its context after the prompt)
   * @param top1 the token that wins in float64
   * @param top2 the runner-up
   * @param before the float64 margin before planting
   * @param margin the float64 margin of the planted (float32-stored) head
   */
  record Planted(Site site, int[] path, int top1, int top2, double before, double margin) {}

  /**
   * What planting did.
   *
   * @param weights the untied checkpoint
   * @param ties the planted micro-ties, in site order
   * @param heldOutLossBefore mean float64 cross-entropy on the held-out sample, tied head
   * @param heldOutLossAfter the same with the planted head
   * @param maxCollateral largest |Δlogit| on the protected prompts' greedy paths
   */
  record Result(
      Gpt2Weights weights,
      List<Planted> ties,
      double heldOutLossBefore,
      double heldOutLossAfter,
      double maxCollateral) {}

  /**
   * The sites of the bundled model: three quickstart prompts the CI self-check does not use, with
   * margins log-spaced from 1.2e-7 to 1.2e-5 nats — inside the contract's 1e-7..1e-4 and below the
   * explained threshold of every float32 condition measured here (twice a floor of 7.6e-6 to
   * 9.5e-6), so each is a point the analysis should flag at-risk.
   */
  static final List<Site> SITES =
      List.of(
          new Site("sky-2", "sky", "At night the sky is", 2, 1.2e-5),
          new Site("weather-2", "weather", "The weather today is", 2, 6.2e-6),
          new Site("sky-9", "sky", "At night the sky is", 9, 3.2e-6),
          new Site("sky-10", "sky", "At night the sky is", 10, 1.7e-6),
          new Site("sky-12", "sky", "At night the sky is", 12, 8.6e-7),
          new Site("seed-doc-18", "seed-doc", "Temperature scales", 18, 4.5e-7),
          new Site("sky-18", "sky", "At night the sky is", 18, 2.3e-7),
          new Site("sky-21", "sky", "At night the sky is", 21, 1.2e-7));

  private MicroTies() {}

  /**
   * Plants {@code sites} into a tied checkpoint.
   *
   * @param protectedPrompts prompts whose float64 greedy paths (up to {@code protectedSteps}
   *     tokens) must not change, and whose hidden states weigh most in the least-used direction
   * @param heldOut held-out documents (hidden states for the direction; the loss check)
   * @throws IllegalStateException when planting would change a protected greedy path or move the
   *     held-out loss by more than 1%
   */
  static Result plant(
      Gpt2Weights w,
      TextTokenizer tok,
      List<Site> sites,
      List<String> protectedPrompts,
      int protectedSteps,
      List<String> heldOut) {
    Gpt2Config cfg = w.config();
    Float64Gpt2 f = new Float64Gpt2(w);
    int d = cfg.width();
    int eos = cfg.eosTokenId();
    double[] head = toDouble(w.lmHead().data());
    // The sites' contexts on the tied model's float64 greedy paths.
    int n = sites.size();
    double[][] x = new double[n][];
    List<int[]> paths = new ArrayList<>();
    int[][] pair = new int[n][];
    double[] before = new double[n];
    for (int k = 0; k < n; k++) {
      Site s = sites.get(k);
      int[] prompt = tok.encode(s.prompt());
      int[] path = Float64Gpt2.greedy(f, head, prompt, s.step(), eos);
      if (path.length != s.step()) {
        throw new IllegalStateException(s.id() + ": the greedy path ends before step " + s.step());
      }
      double[][] h = f.hidden(Float64Gpt2.concat(prompt, path));
      x[k] = h[h.length - 1];
      double[] logits = Float64Gpt2.logits(head, x[k]);
      pair[k] = Float64Gpt2.topTwo(logits);
      before[k] = logits[pair[k][0]] - logits[pair[k][1]];
      paths.add(path);
    }
    // Protected greedy paths (before), and the weighted hidden states the direction should avoid.
    // Their steps with a margin under one nat are held exactly: v · x = 0 there, so no edit can
    // tip them; the rest only weigh in C.
    List<int[]> protectedPaths = new ArrayList<>();
    RealMatrix c = new Array2DRowRealMatrix(d, d);
    Map<String, double[]> watched = new LinkedHashMap<>();
    java.util.Set<String> tieKeys = new java.util.HashSet<>();
    for (int k = 0; k < n; k++) {
      tieKeys.add(
          java.util.Arrays.toString(
              Float64Gpt2.concat(tok.encode(sites.get(k).prompt()), paths.get(k))));
    }
    for (String p : protectedPrompts) {
      int[] prompt = tok.encode(p);
      int[] path = Float64Gpt2.greedy(f, head, prompt, protectedSteps, eos);
      protectedPaths.add(path);
      int[] seq = Float64Gpt2.concat(prompt, path);
      double[][] h = f.hidden(seq);
      accumulate(c, h, 10.0); // the paths users see weigh ten times a held-out position
      for (int i = prompt.length - 1; i < h.length; i++) {
        String key = java.util.Arrays.toString(java.util.Arrays.copyOf(seq, i + 1));
        if (!tieKeys.contains(key)) {
          watched.put(key, h[i]);
        }
      }
    }
    List<double[][]> heldHidden = new ArrayList<>();
    List<int[]> heldTokens = new ArrayList<>();
    for (String doc : heldOut) {
      int[] t = tok.encode(doc);
      if (t.length < 2) {
        continue;
      }
      if (t.length > cfg.contextLength()) {
        t = java.util.Arrays.copyOf(t, cfg.contextLength());
      }
      double[][] h = f.hidden(t);
      heldHidden.add(h);
      heldTokens.add(t);
      accumulate(c, h, 1.0);
    }
    // The held-out positions weigh in C once (the protected paths ten times, above).
    // Constraints v · x = 0 are added, round by round, for the protected contexts whose margin the
    // edit could move by more than half: no edit may tip a step users see.
    double trace = c.getTrace();
    for (int i = 0; i < d; i++) {
      c.addToEntry(i, i, 1e-6 * trace / d); // a small ridge keeps C well conditioned
    }
    DecompositionSolver cs = new CholeskyDecomposition(c).getSolver();
    List<double[]> fixed = new ArrayList<>();
    double[] planted = null;
    for (int round = 0; ; round++) {
      if (round == 10 || fixed.size() + n >= d) {
        throw new IllegalStateException(
            "micro-ties: the edit still tips protected steps after "
                + round
                + " rounds ("
                + fixed.size()
                + " held); choose sites with smaller natural margins");
      }
      try {
        planted = edit(head, cs, x, fixed, pair, before, sites, d);
      } catch (org.apache.commons.math3.linear.SingularMatrixException e) {
        throw new IllegalStateException(
            "micro-ties: the sites and held steps are linearly dependent ("
                + (fixed.size() + n)
                + " of "
                + d
                + " dimensions); choose other sites",
            e);
      }
      int added = 0;
      for (double[] h : watched.values()) {
        double[] a = Float64Gpt2.logits(head, h);
        double[] b = Float64Gpt2.logits(planted, h);
        int[] top = Float64Gpt2.topTwo(a);
        double m = a[top[0]] - a[top[1]];
        int[] now = Float64Gpt2.topTwo(b);
        // Held when the edit would change the winner or take more than half of its lead.
        boolean tipped = now[0] != top[0] || b[now[0]] - b[now[1]] < m / 2;
        if (tipped && !fixed.contains(h)) {
          fixed.add(h);
          added++;
        }
      }
      if (added == 0) {
        break;
      }
    }
    float[] stored = toFloat(planted);
    tune(stored, x, pair, sites, d);
    double[] finalHead = toDouble(stored);
    List<Planted> ties = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      double[] lg = Float64Gpt2.logits(finalHead, x[k]);
      int[] top = Float64Gpt2.topTwo(lg);
      if (top[0] != pair[k][0] || top[1] != pair[k][1]) {
        throw new IllegalStateException(sites.get(k).id() + ": the top two tokens changed");
      }
      ties.add(
          new Planted(
              sites.get(k), paths.get(k), top[0], top[1], before[k], lg[top[0]] - lg[top[1]]));
    }
    double collateral =
        checkProtected(
            f, head, finalHead, tok, protectedPrompts, protectedPaths, protectedSteps, eos);
    double lossBefore = Float64Gpt2.loss(head, heldHidden, heldTokens);
    double lossAfter = Float64Gpt2.loss(finalHead, heldHidden, heldTokens);
    if (Math.abs(lossAfter - lossBefore) > 0.01 * lossBefore) {
      throw new IllegalStateException(
          String.format(
              Locale.ROOT,
              "planting moved the held-out loss from %.5f to %.5f (more than 1%%)",
              lossBefore,
              lossAfter));
    }
    return new Result(untie(w, stored), ties, lossBefore, lossAfter, collateral);
  }

  /** The head with every site's runner-up row moved along its direction (see the class doc). */
  private static double[] edit(
      double[] head,
      DecompositionSolver cs,
      double[][] x,
      List<double[]> fixed,
      int[][] pair,
      double[] before,
      List<Site> sites,
      int d) {
    int n = x.length;
    RealMatrix xs = new Array2DRowRealMatrix(d, n + fixed.size());
    for (int k = 0; k < n; k++) {
      xs.setColumn(k, x[k]);
    }
    for (int i = 0; i < fixed.size(); i++) {
      xs.setColumn(n + i, fixed.get(i));
    }
    RealMatrix cx = cs.solve(xs); // C⁻¹X [d, n + fixed]
    DecompositionSolver gram = new LUDecomposition(xs.transpose().multiply(cx)).getSolver();
    double[] planted = head.clone();
    for (int k = 0; k < n; k++) {
      RealVector e = new ArrayRealVector(n + fixed.size());
      e.setEntry(k, 1);
      RealVector v = cx.operate(gram.solve(e)); // v · x_k = 1, v · x_j = 0 for the others
      double delta = before[k] - sites.get(k).target();
      int b = pair[k][1];
      for (int j = 0; j < d; j++) {
        planted[b * d + j] += delta * v.getEntry(j);
      }
    }
    return planted;
  }

  /**
   * Brings each margin to within a factor 1.25 of its target by moving one component of the
   * runner-up's row by whole float32 ulps; rounds repeat because ties sharing a row move each
   * other.
   */
  private static void tune(float[] head, double[][] x, int[][] pair, List<Site> sites, int d) {
    for (int round = 0; round < 20; round++) {
      boolean done = true;
      for (int k = 0; k < x.length; k++) {
        double target = sites.get(k).target();
        double m = margin(head, x[k], pair[k], d);
        if (m >= target / 1.25 && m <= target * 1.25) {
          continue;
        }
        done = false;
        int b = pair[k][1];
        // The component whose one-ulp step moves the margin by the most that is still at most a
        // tenth of the target: fine enough to land inside the band.
        int best = -1;
        double bestStep = 0;
        for (int j = 0; j < d; j++) {
          double step = Math.abs(x[k][j]) * Math.ulp(head[b * d + j]);
          if (step <= target / 10 && step > bestStep) {
            best = j;
            bestStep = step;
          }
        }
        if (best < 0) {
          throw new IllegalStateException(sites.get(k).id() + ": no component fine enough");
        }
        // Raising b's logit by (m − target) closes the margin to the target.
        long ulps = Math.round((m - target) / bestStep);
        int at = b * d + best;
        float v = head[at];
        boolean up = (ulps > 0) == (x[k][best] > 0);
        for (long i = 0; i < Math.abs(ulps); i++) {
          v = up ? Math.nextUp(v) : Math.nextDown(v);
        }
        head[at] = v;
      }
      if (done) {
        return;
      }
    }
    throw new IllegalStateException("micro-tie margins did not settle in 20 rounds");
  }

  static double margin(float[] head, double[] x, int[] pair, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) {
      s += ((double) head[pair[0] * d + j] - head[pair[1] * d + j]) * x[j];
    }
    return s;
  }

  /** Checks that no protected greedy path changed; returns the largest |Δlogit| on them. */
  private static double checkProtected(
      Float64Gpt2 f,
      double[] head,
      double[] planted,
      TextTokenizer tok,
      List<String> prompts,
      List<int[]> paths,
      int steps,
      int eos) {
    double worst = 0;
    for (int i = 0; i < prompts.size(); i++) {
      int[] prompt = tok.encode(prompts.get(i));
      int[] now = Float64Gpt2.greedy(f, planted, prompt, steps, eos);
      if (!java.util.Arrays.equals(now, paths.get(i))) {
        throw new IllegalStateException(
            "planting changed the greedy path of \"" + prompts.get(i) + "\"");
      }
      for (double[] h : f.hidden(Float64Gpt2.concat(prompt, now))) {
        double[] a = Float64Gpt2.logits(head, h);
        double[] b = Float64Gpt2.logits(planted, h);
        for (int v = 0; v < a.length; v++) {
          worst = Math.max(worst, Math.abs(a[v] - b[v]));
        }
      }
    }
    return worst;
  }

  private static void accumulate(RealMatrix c, double[][] h, double weight) {
    int d = c.getRowDimension();
    double[][] data = ((Array2DRowRealMatrix) c).getDataRef();
    for (double[] row : h) {
      for (int i = 0; i < d; i++) {
        double ri = row[i] * weight;
        for (int j = i; j < d; j++) {
          data[i][j] += ri * row[j];
        }
      }
    }
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < i; j++) {
        data[i][j] = data[j][i]; // exactly symmetric, as Cholesky requires
      }
    }
  }

  private static Gpt2Weights untie(Gpt2Weights w, float[] head) {
    Gpt2Config cfg = w.config();
    Map<String, Tensor> t = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : Gpt2Weights.expectedShapes(cfg)) {
      Tensor src = w.get(e.getKey());
      t.put(
          "transformer." + e.getKey(),
          new Tensor("transformer." + e.getKey(), src.shape(), src.data()));
    }
    t.put(
        Gpt2Weights.LM_HEAD,
        new Tensor(Gpt2Weights.LM_HEAD, new long[] {cfg.vocabSize(), cfg.width()}, head));
    return Gpt2Weights.of(t, cfg.withTiedHead(false), java.nio.file.Path.of("<planted>"));
  }

  private static double[] toDouble(float[] f) {
    double[] out = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = f[i];
    }
    return out;
  }

  private static float[] toFloat(double[] v) {
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) v[i];
    }
    return out;
  }
}
