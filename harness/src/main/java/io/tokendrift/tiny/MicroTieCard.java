package io.tokendrift.tiny;

import io.tokendrift.model.BundledModel;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Locale;

/** The model card's parts that planting changes: the files, the parameter count, the micro-ties. */
final class MicroTieCard {
  private MicroTieCard() {}

  /** {@code card} with its Files section regenerated and a Micro-ties section before Tokenizer. */
  static String update(
      String card, ModelDir dir, TextTokenizer tok, MicroTies.Result r, double probabilityMoved)
      throws IOException {
    String out = replaceSection(card, "## Files", "## Architecture", files(dir));
    long params = Gpt2Weights.parameterCount(dir.gpt2());
    out =
        out.replaceFirst(
            "\\| parameters \\| [0-9,]+ \\|",
            String.format(
                Locale.ROOT,
                "| parameters | %,d (the untied LM head adds %,d) |",
                params,
                (long) dir.gpt2().vocabSize() * dir.gpt2().width()));
    return replaceSection(out, "## Micro-ties", "## Tokenizer", micro(tok, r, probabilityMoved));
  }

  /** Replaces the section starting at {@code head} (or inserts it before {@code next}). */
  private static String replaceSection(String card, String head, String next, String body) {
    int at = card.indexOf(head + "\n");
    int end = card.indexOf(next + "\n");
    if (end < 0) {
      throw new IllegalArgumentException("model card has no '" + next + "' section");
    }
    if (at < 0 || at > end) {
      at = end;
    }
    return card.substring(0, at) + body + card.substring(end);
  }

  private static String files(ModelDir dir) throws IOException {
    StringBuilder b = new StringBuilder("## Files\n\n| file | bytes |\n|---|---:|\n");
    for (String f :
        new String[] {
          ModelDir.CONFIG, ModelDir.WEIGHTS, ModelDir.TOKENIZER, BundledModel.NEAR_TIES
        }) {
      b.append(String.format(Locale.ROOT, "| `%s` | %,d |%n", f, Files.size(dir.dir().resolve(f))));
    }
    b.append(
            "\nHugging Face layout: `config.json` (`model_type: gpt2`, `tie_word_embeddings:"
                + " false`), `model.safetensors` (F32, tensor names `transformer.*` and an untied"
                + " `lm_head.weight`: a copy of `wte` edited at the micro-ties below),"
                + " `tokenizer.json` (byte-level BPE). SHA-256 of config + weights + tokenizer: `")
        .append(dir.hash())
        .append("`.\n\n");
    return b.toString();
  }

  private static String micro(TextTokenizer tok, MicroTies.Result r, double moved) {
    StringBuilder b = new StringBuilder("## Micro-ties\n\n");
    b.append(
        "Near-ties far closer than the planted 50/50 points: on the greedy path of three quickstart"
            + " prompts, the margin between the top two tokens is set between 1e-7 and 1e-4 nats"
            + " (float64), below the float32 noise that batch shapes, summation orders and thread"
            + " counts add (about 1e-6 to 1e-5). Those conditions tip them either way — the"
            + " mechanism behind \"temperature 0 but different answers\" — while float64 and any"
            + " one fixed arithmetic keep the top-1. The analysis treats them as ground truth: a"
            + " divergence there is expected noise, and its recall of them is reported.\n\n");
    b.append(
        "Method (`tiny.MicroTies`): the LM head is untied (a copy of `wte`); at each site the"
            + " runner-up's row moves along a direction v with v · x = 1 at that context, v · x = 0"
            + " at the other sites and at every protected step the edit could tip (the greedy paths"
            + " of the card's, the quickstart's and the CI check's prompts, up to 40 tokens), and"
            + " otherwise the least weight on the hidden states the model meets (held-out text)."
            + " The head is stored in float32 and each margin brought to its target by whole-ulp"
            + " moves of one component, re-read in float64.\n\n");
    b.append("| id | prompt | step | context ends | top-1 / top-2 | margin before | margin |\n");
    b.append("|---|---|---:|---|---|---:|---:|\n");
    for (MicroTies.Planted t : r.ties()) {
      String path = tok.decode(t.path());
      String tail = path.length() > 40 ? "…" + path.substring(path.length() - 40) : path;
      b.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %d | %s | `%s` / `%s` | %.4f | %.2e |%n",
              t.site().id(),
              t.site().prompt(),
              t.site().step(),
              tail.replace("|", "\\|").replace("\n", " "),
              tok.decode(new int[] {t.top1()}).strip(),
              tok.decode(new int[] {t.top2()}).strip(),
              t.before(),
              t.margin()));
    }
    b.append(
        String.format(
            Locale.ROOT,
            "%nHeld-out loss (float64, %d documents): %.5f before, %.5f after (%+.3f%%). Greedy"
                + " paths of every protected prompt: unchanged (checked in float64). Largest"
                + " logit change on them: %.3f (on tokens that never compete there). The planted"
                + " near-ties' model probabilities (table above, in `near_ties.json` re-measured"
                + " after planting) moved by at most %.4f.%n%n",
            MicroTiePlanting.HELD_OUT,
            r.heldOutLossBefore(),
            r.heldOutLossAfter(),
            100 * (r.heldOutLossAfter() / r.heldOutLossBefore() - 1),
            r.maxCollateral(),
            moved));
    return b.toString();
  }
}
