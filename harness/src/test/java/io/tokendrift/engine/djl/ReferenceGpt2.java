package io.tokendrift.engine.djl;

import io.tokendrift.model.Gpt2Config;
import io.tokendrift.model.Gpt2Weights;

/**
 * GPT-2's forward pass in plain Java float64, written from the paper and Hugging Face's modelling
 * code without DJL: the independent computation the engine is checked against.
 */
public final class ReferenceGpt2 {
  private final Gpt2Weights w;
  private final Gpt2Config c;

  public ReferenceGpt2(Gpt2Weights w) {
    this.w = w;
    this.c = w.config();
  }

  /** Logits after the last token of {@code tokens}. */
  public double[] lastLogits(int[] tokens) {
    int t = tokens.length;
    int d = c.width();
    double[][] x = new double[t][d];
    for (int i = 0; i < t; i++) {
      for (int j = 0; j < d; j++) {
        x[i][j] = at("wte.weight", tokens[i] * d + j) + at("wpe.weight", i * d + j);
      }
    }
    for (int l = 0; l < c.layers(); l++) {
      String h = "h." + l + ".";
      double[][] a = layerNorm(x, h + "ln_1");
      double[][] qkv = linear(a, h + "attn.c_attn", d, 3 * d);
      double[][] y = attention(qkv);
      add(x, linear(y, h + "attn.c_proj", d, d));
      double[][] m = linear(layerNorm(x, h + "ln_2"), h + "mlp.c_fc", d, c.inner());
      for (double[] row : m) {
        for (int j = 0; j < row.length; j++) {
          row[j] = gelu(row[j]);
        }
      }
      add(x, linear(m, h + "mlp.c_proj", c.inner(), d));
    }
    double[] last = layerNorm(new double[][] {x[t - 1]}, "ln_f")[0];
    float[] head = w.lmHead().data(); // wte when tied
    double[] logits = new double[c.vocabSize()];
    for (int v = 0; v < logits.length; v++) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        s += last[j] * head[v * d + j];
      }
      logits[v] = s;
    }
    return logits;
  }

  private double[][] attention(double[][] qkv) {
    int t = qkv.length;
    int d = c.width();
    int hs = c.headSize();
    double[][] out = new double[t][d];
    for (int head = 0; head < c.heads(); head++) {
      int qo = head * hs;
      int ko = d + head * hs;
      int vo = 2 * d + head * hs;
      for (int i = 0; i < t; i++) {
        double[] score = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
          double s = 0;
          for (int k = 0; k < hs; k++) {
            s += qkv[i][qo + k] * qkv[j][ko + k];
          }
          score[j] = s / Math.sqrt(hs);
          max = Math.max(max, score[j]);
        }
        double z = 0;
        for (int j = 0; j <= i; j++) {
          score[j] = Math.exp(score[j] - max);
          z += score[j];
        }
        for (int j = 0; j <= i; j++) {
          for (int k = 0; k < hs; k++) {
            out[i][qo + k] += score[j] / z * qkv[j][vo + k];
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

  private double[][] layerNorm(double[][] x, String name) {
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
      var /= n;
      out[i] = new double[n];
      for (int j = 0; j < n; j++) {
        out[i][j] =
            (x[i][j] - mean) / Math.sqrt(var + c.layerNormEpsilon()) * at(name + ".weight", j)
                + at(name + ".bias", j);
      }
    }
    return out;
  }

  private double[][] linear(double[][] x, String name, int in, int out) {
    double[][] y = new double[x.length][out];
    float[] bias = w.get(name + ".bias").data();
    float[] weight = w.get(name + ".weight").data();
    for (int i = 0; i < x.length; i++) {
      for (int o = 0; o < out; o++) {
        double s = bias[o];
        for (int k = 0; k < in; k++) {
          s += x[i][k] * weight[k * out + o];
        }
        y[i][o] = s;
      }
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

  private double at(String tensor, int index) {
    return w.get(tensor).data()[index];
  }
}
