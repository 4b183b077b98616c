package io.tokendrift.tiny;

import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2's forward pass in float64 over the checkpoint's float32 values, for planting micro-ties: a
 * margin of 1e-7 nats must be set and read exactly, which no float32 engine can do. Returns the
 * final (layer-normed) hidden states, from which any head gives logits. Not an engine: no batches,
 * no cache; each call runs the whole sequence.
 */
final class Float64Gpt2 {
  private final Gpt2Config c;
  private final double[] wte;
  private final double[] wpe;
  private final double[][] ln1w;
  private final double[][] ln1b;
  private final double[][] attnW;
  private final double[][] attnB;
  private final double[][] projW;
  private final double[][] projB;
  private final double[][] ln2w;
  private final double[][] ln2b;
  private final double[][] fcW;
  private final double[][] fcB;
  private final double[][] outW;
  private final double[][] outB;
  private final double[] lnFw;
  private final double[] lnFb;

  Float64Gpt2(Gpt2Weights w) {
    c = w.config();
    int l = c.layers();
    wte = d(w.get("wte.weight"));
    wpe = d(w.get("wpe.weight"));
    ln1w = new double[l][];
    ln1b = new double[l][];
    attnW = new double[l][];
    attnB = new double[l][];
    projW = new double[l][];
    projB = new double[l][];
    ln2w = new double[l][];
    ln2b = new double[l][];
    fcW = new double[l][];
    fcB = new double[l][];
    outW = new double[l][];
    outB = new double[l][];
    for (int i = 0; i < l; i++) {
      String h = "h." + i + ".";
      ln1w[i] = d(w.get(h + "ln_1.weight"));
      ln1b[i] = d(w.get(h + "ln_1.bias"));
      attnW[i] = d(w.get(h + "attn.c_attn.weight"));
      attnB[i] = d(w.get(h + "attn.c_attn.bias"));
      projW[i] = d(w.get(h + "attn.c_proj.weight"));
      projB[i] = d(w.get(h + "attn.c_proj.bias"));
      ln2w[i] = d(w.get(h + "ln_2.weight"));
      ln2b[i] = d(w.get(h + "ln_2.bias"));
      fcW[i] = d(w.get(h + "mlp.c_fc.weight"));
      fcB[i] = d(w.get(h + "mlp.c_fc.bias"));
      outW[i] = d(w.get(h + "mlp.c_proj.weight"));
      outB[i] = d(w.get(h + "mlp.c_proj.bias"));
    }
    lnFw = d(w.get("ln_f.weight"));
    lnFb = d(w.get("ln_f.bias"));
  }

  private static double[] d(Tensor t) {
    float[] f = t.data();
    double[] out = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = f[i];
    }
    return out;
  }

  /** The final hidden state [T][C] at every position of {@code tokens}. */
  double[][] hidden(int[] tokens) {
    int t = tokens.length;
    int d = c.width();
    double[][] x = new double[t][d];
    for (int i = 0; i < t; i++) {
      for (int j = 0; j < d; j++) {
        x[i][j] = wte[tokens[i] * d + j] + wpe[i * d + j];
      }
    }
    for (int l = 0; l < c.layers(); l++) {
      double[][] qkv = linear(norm(x, ln1w[l], ln1b[l]), attnW[l], attnB[l], 3 * d);
      add(x, linear(attention(qkv), projW[l], projB[l], d));
      double[][] m = linear(norm(x, ln2w[l], ln2b[l]), fcW[l], fcB[l], c.inner());
      for (double[] row : m) {
        for (int j = 0; j < row.length; j++) {
          row[j] = gelu(row[j]);
        }
      }
      add(x, linear(m, outW[l], outB[l], d));
    }
    return norm(x, lnFw, lnFb);
  }

  /** logits = head · h, with the head [V, C] in float64. */
  static double[] logits(double[] head, double[] h) {
    int d = h.length;
    double[] out = new double[head.length / d];
    for (int v = 0; v < out.length; v++) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        s += head[v * d + j] * h[j];
      }
      out[v] = s;
    }
    return out;
  }

  private double[][] attention(double[][] qkv) {
    int t = qkv.length;
    int d = c.width();
    int hs = c.headSize();
    double scale = 1 / Math.sqrt(hs);
    double[][] out = new double[t][d];
    double[] score = new double[t];
    for (int head = 0; head < c.heads(); head++) {
      int qo = head * hs;
      int ko = d + qo;
      int vo = 2 * d + qo;
      for (int i = 0; i < t; i++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
          double s = 0;
          for (int k = 0; k < hs; k++) {
            s += qkv[i][qo + k] * qkv[j][ko + k];
          }
          score[j] = s * scale;
          max = Math.max(max, score[j]);
        }
        double z = 0;
        for (int j = 0; j <= i; j++) {
          score[j] = Math.exp(score[j] - max);
          z += score[j];
        }
        for (int j = 0; j <= i; j++) {
          double p = score[j] / z;
          for (int k = 0; k < hs; k++) {
            out[i][qo + k] += p * qkv[j][vo + k];
          }
        }
      }
    }
    return out;
  }

  private double gelu(double v) {
    if (c.tanhGelu()) {
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    }
    return 0.5 * v * (1 + org.apache.commons.math3.special.Erf.erf(v / Math.sqrt(2)));
  }

  private double[][] norm(double[][] x, double[] w, double[] b) {
    double[][] out = new double[x.length][];
    for (int i = 0; i < x.length; i++) {
      int n = x[i].length;
      double mean = 0;
      for (double v : x[i]) {
        mean += v;
      }
      mean /= n;
      double var = 0;
      for (double v : x[i]) {
        var += (v - mean) * (v - mean);
      }
      double inv = 1 / Math.sqrt(var / n + c.layerNormEpsilon());
      out[i] = new double[n];
      for (int j = 0; j < n; j++) {
        out[i][j] = (x[i][j] - mean) * inv * w[j] + b[j];
      }
    }
    return out;
  }

  /** x [T, in] · w [in, out] + b, GPT-2's Conv1D layout. */
  private static double[][] linear(double[][] x, double[] w, double[] b, int out) {
    int in = x[0].length;
    double[][] y = new double[x.length][];
    for (int i = 0; i < x.length; i++) {
      double[] acc = b.clone();
      for (int k = 0; k < in; k++) {
        double xv = x[i][k];
        int base = k * out;
        for (int o = 0; o < out; o++) {
          acc[o] += xv * w[base + o];
        }
      }
      y[i] = acc;
    }
    return y;
  }

  private static void add(double[][] x, double[][] y) {
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < x[i].length; j++) {
        x[i][j] += y[i][j];
      }
    }
  }

  /** Float64 greedy decoding of up to {@code steps} tokens (stopping at EOS, not included). */
  static int[] greedy(Float64Gpt2 f, double[] head, int[] prompt, int steps, int eos) {
    int[] seq = prompt.clone();
    List<Integer> out = new ArrayList<>();
    for (int s = 0; s < steps; s++) {
      double[][] h = f.hidden(seq);
      int next = topTwo(Float64Gpt2.logits(head, h[h.length - 1]))[0];
      if (next == eos) {
        break;
      }
      out.add(next);
      seq = concat(seq, new int[] {next});
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The largest and second-largest logits' ids, lowest id first on a tie (as argmax). */
  static int[] topTwo(double[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    int second = best == 0 ? 1 : 0;
    for (int i = 0; i < v.length; i++) {
      if (i != best && v[i] > v[second]) {
        second = i;
      }
    }
    return new int[] {best, second};
  }

  /** Mean next-token cross-entropy (nats) over the held-out sample. */
  static double loss(double[] head, List<double[][]> hidden, List<int[]> tokens) {
    double sum = 0;
    long count = 0;
    for (int i = 0; i < hidden.size(); i++) {
      double[][] h = hidden.get(i);
      int[] t = tokens.get(i);
      for (int p = 0; p + 1 < t.length; p++) {
        double[] lg = Float64Gpt2.logits(head, h[p]);
        double max = Double.NEGATIVE_INFINITY;
        for (double v : lg) {
          max = Math.max(max, v);
        }
        double z = 0;
        for (double v : lg) {
          z += Math.exp(v - max);
        }
        sum += Math.log(z) + max - lg[t[p + 1]];
        count++;
      }
    }
    return sum / count;
  }

  static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
