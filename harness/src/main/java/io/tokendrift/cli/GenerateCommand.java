package io.tokendrift.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tokendrift.decode.Choice;
import io.tokendrift.decode.Completion;
import io.tokendrift.decode.DecodeSettings;
import io.tokendrift.decode.Generation;
import io.tokendrift.decode.LogitStats;
import io.tokendrift.decode.StepObserver;
import io.tokendrift.decode.StopConditions;
import io.tokendrift.engine.BatchDecoder;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.Engine;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Fillers;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import io.tokendrift.model.BundledModel;
import io.tokendrift.model.ChatTemplate;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Generates one completion under one set of conditions, optionally with a per-step table. */
@Command(
    name = "generate",
    header = "Generate one completion under stated conditions.",
    footer = {
      "",
      "Example:",
      "  tokendrift generate --prompt \"The cat sat on the\" --batch-size 8 --steps"
    },
    mixinStandardHelpOptions = true,
    description =
        "Generate text from a prompt under stated conditions, printing every step if asked.")
final class GenerateCommand implements Callable<Integer> {
  /** Other prompts that fill the rest of a batch, of varied lengths so padding is exercised. */
  @Spec CommandSpec spec;

  @Mixin SamplingOptions sampling = new SamplingOptions();

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description =
          "Hugging Face model folder (config.json, model.safetensors or its sharded index, tokenizer.json): GPT-2, Llama, Mistral, Qwen2 or Qwen3. Default (or 'bundled'): the bundled tiny model.")
  Path model;

  @Option(names = "--prompt", required = true, description = "The prompt text.")
  String prompt;

  @Option(
      names = "--chat",
      description =
          "Treat --prompt as a user message and generate the assistant's reply through the model"
              + " folder's chat template (tokenizer_config.json's chat_template, rendered with"
              + " Jinjava; the plain 'Human:/Assistant:' template when the folder has none).")
  boolean chat;

  @Option(
      names = "--system",
      paramLabel = "TEXT",
      description = "With --chat: a system message before the user's.")
  String system;

  @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy (default: 0).")
  double temperature;

  @Option(
      names = "--max-tokens",
      defaultValue = "32",
      description = "Tokens to generate at most (default: 32).")
  int maxTokens;

  @Option(names = "--stop", description = "A stop sequence (repeatable).")
  List<String> stop = new ArrayList<>();

  @Option(
      names = "--timeout",
      defaultValue = "0",
      description = "Wall-clock budget in seconds; 0 for none.")
  double timeoutSeconds;

  @Option(
      names = "--batch-size",
      defaultValue = "1",
      description = "Rows in the batch (default: 1).")
  int batchSize;

  @Option(
      names = "--batch-position",
      defaultValue = "0",
      description = "Row of the prompt (default: 0).")
  int batchPosition;

  @Option(
      names = "--summation",
      defaultValue = "native",
      description = "native or splitk:S:forward|reverse|pairwise|shuffle:SEED.")
  String summation;

  @Option(
      names = "--precision",
      defaultValue = "fp32",
      description =
          "fp32, fp16 or fp64 (float64 throughout, on the CPU: the truth the others are measured"
              + " against; bf16 is refused).")
  String precision;

  @Option(
      names = "--threads",
      defaultValue = "0",
      description = "PyTorch intra-op threads; 0 for the default.")
  int threads;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, gpu or gpu:N.")
  String device;

  @Option(
      names = "--batch-invariant",
      description = "Make the prompt's logits independent of its batch.")
  boolean batchInvariant;

  @Option(names = "--steps", description = "Print a per-step table.")
  boolean steps;

  @Option(
      names = "--near-tie",
      defaultValue = "0.1",
      description =
          "Margin (nats of raw logit) under which a step is flagged as a near-tie (default: 0.1).")
  double nearTie;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Mixin EngineFlags engineFlags = new EngineFlags();

  /** One step as printed. */
  record Step(
      int step,
      int token,
      String text,
      double logit,
      double probability,
      int runnerUp,
      String runnerUpText,
      double runnerUpLogit,
      double margin,
      double draw,
      double drawMargin) {}

  @Override
  public Integer call() throws Exception {
    if (batchSize < 1) {
      throw new UserInputException("--batch-size (" + batchSize + ") must be >= 1");
    }
    if (batchPosition < 0 || batchPosition >= batchSize) {
      throw new UserInputException(
          "--batch-position ("
              + batchPosition
              + ") must be in [0, "
              + (batchSize - 1)
              + "] for --batch-size "
              + batchSize);
    }
    DecodeSettings settings =
        new DecodeSettings(
            sampling.settings(temperature),
            new StopConditions(
                maxTokens, Set.of(), stop, Duration.ofNanos((long) (timeoutSeconds * 1e9))),
            sampling.seed);
    EngineOptions options =
        new EngineOptions(
            DeviceSpec.parse(device),
            Precision.parse(precision),
            SummationOrder.parse(summation),
            threads,
            batchInvariant);
    ModelDir dir = BundledModel.openOr(model);
    if (system != null && !chat) {
      throw new UserInputException("--system needs --chat");
    }
    String text = chat ? chatPrompt(dir) : prompt;
    EngineSpec engineSpec = engineFlags.spec();
    engineFlags.refuseUnsupported(options, batchSize, batchPosition);
    try (TextTokenizer tok = dir.tokenizer();
        Engine engine = Engines.open(engineSpec, dir, options)) {
      Set<Integer> eos = dir.config().eosIds();
      DecodeSettings withEos =
          eos.isEmpty()
              ? settings
              : new DecodeSettings(
                  settings.sampling(),
                  new StopConditions(maxTokens, eos, stop, settings.stop().timeout()),
                  sampling.seed);
      List<int[]> prompts = new ArrayList<>();
      List<Generation> gens = new ArrayList<>();
      List<StepObserver> observers = new ArrayList<>();
      List<Step> table = new ArrayList<>();
      for (int r = 0; r < batchSize; r++) {
        boolean mine = r == batchPosition;
        int[] ids = tok.encode(mine ? text : Fillers.TEXTS.get(r % Fillers.TEXTS.size()));
        if (ids.length == 0) {
          throw new UserInputException("--prompt encodes to no tokens; give some text");
        }
        prompts.add(ids);
        gens.add(new Generation(withEos, mine ? 0 : r + 1, tok::decode, System::nanoTime));
        observers.add(
            mine
                ? new StepObserver() {
                  @Override
                  public void onStep(int step, float[] logits, Choice ch) {
                    table.add(row(tok, step, logits, null, ch));
                  }

                  @Override
                  public void onStep(int step, float[] logits, double[] exact, Choice ch) {
                    table.add(row(tok, step, logits, exact, ch));
                  }
                }
                : StepObserver.NONE);
      }
      Completion c = BatchDecoder.run(engine, prompts, gens, observers).get(batchPosition);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(json(dir, engine.settings(), c, table));
      } else {
        out.println(text + c.text());
        if (steps) {
          printSteps(out, table);
        }
        out.printf(
            Locale.ROOT,
            "[%d tokens, stop: %s, %.1f ms]%n",
            c.tokens().size(),
            c.stopReason().name().toLowerCase(Locale.ROOT),
            c.elapsedNanos() / 1e6);
      }
      out.flush();
    }
    return Main.OK;
  }

  /** The prompt as the chat template renders the messages (system, then user). */
  private String chatPrompt(ModelDir dir) {
    com.fasterxml.jackson.databind.node.ArrayNode messages =
        com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
    if (system != null) {
      messages.addObject().put("role", "system").put("content", system);
    }
    messages.addObject().put("role", "user").put("content", prompt);
    try {
      return ChatTemplate.of(dir.dir()).render(messages);
    } catch (IllegalArgumentException e) {
      throw new UserInputException(
          dir.dir() + ": the chat template cannot be rendered: " + e.getMessage());
    }
  }

  /**
   * One row of the step table; with {@code exact} (an fp64 engine's logits) the logits, runner-up
   * and margin are float64's — a micro-tie's 1e-7 margin, which float32 rounds to 0.
   */
  private static Step row(TextTokenizer tok, int step, float[] logits, double[] exact, Choice c) {
    LogitStats s = LogitStats.of(logits);
    if (exact != null) {
      // The best token other than the chosen one (a sampled step need not choose the top-1).
      int[] top = io.tokendrift.decode.Logits.topIds(exact, 2);
      int second = top.length < 2 ? -1 : top[0] == c.token() ? top[1] : top[0];
      double p = c.sampled() ? c.probability() : s.probability(logits[c.token()]);
      return new Step(
          step,
          c.token(),
          tok.tokenText(c.token()),
          exact[c.token()],
          p,
          second,
          second < 0 ? "" : tok.tokenText(second),
          second < 0 ? Double.NaN : exact[second],
          second < 0 ? Double.NaN : exact[c.token()] - exact[second],
          c.draw(),
          c.drawMargin());
    }
    float logit = logits[c.token()];
    double p = c.sampled() ? c.probability() : s.probability(logit);
    return new Step(
        step,
        c.token(),
        tok.tokenText(c.token()),
        logit,
        p,
        s.top2(),
        s.top2() < 0 ? "" : tok.tokenText(s.top2()),
        s.top2Logit(),
        s.margin(),
        c.draw(),
        c.drawMargin());
  }

  private void printSteps(PrintWriter out, List<Step> table) {
    out.printf(
        Locale.ROOT,
        "%n%4s  %-16s %6s %9s %7s  %-16s %9s %9s%n",
        "step",
        "token",
        "id",
        "logit",
        "prob",
        "runner-up",
        "logit",
        "margin");
    for (Step s : table) {
      out.printf(
          Locale.ROOT,
          "%4d  %-16s %6d %9.4f %7.4f  %-16s %9.4f %9s%s%n",
          s.step(),
          quote(s.text()),
          s.token(),
          s.logit(),
          s.probability(),
          quote(s.runnerUpText()),
          s.runnerUpLogit(),
          // Below 1e-3 (a near-tie, a micro-tie's 1e-7 in fp64) in three significant digits.
          s.margin() != 0 && Math.abs(s.margin()) < 1e-3
              ? String.format(Locale.ROOT, "%.3g", s.margin())
              : String.format(Locale.ROOT, "%.4f", s.margin()),
          s.margin() < nearTie ? "  near-tie" : "");
    }
  }

  /** Token text made visible: quoted, with control characters escaped. */
  static String quote(String t) {
    StringBuilder sb = new StringBuilder("\"");
    for (char ch : t.toCharArray()) {
      switch (ch) {
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
        case '"' -> sb.append("\\\"");
        default ->
            sb.append(
                ch < 0x20 ? String.format(Locale.ROOT, "\\u%04x", (int) ch) : String.valueOf(ch));
      }
    }
    return sb.append('"').toString();
  }

  private String json(
      ModelDir dir, Map<String, String> engineSettings, Completion c, List<Step> table)
      throws Exception {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put(
        "model", dir.dir().equals(BundledModel.dir()) ? BundledModel.NAME : dir.dir().toString());
    root.put("model_sha256", dir.hash());
    root.put("prompt", chat ? chatPrompt(dir) : prompt);
    if (chat) {
      root.put("chat_template", ChatTemplate.of(dir.dir()).fromModel() ? "model" : "plain");
    }
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("temperature", temperature);
    s.put("top_k", sampling.topK);
    s.put("top_p", sampling.topP);
    s.put("method", sampling.method.name().toLowerCase(Locale.ROOT));
    s.put("seed", sampling.seed);
    s.put("max_tokens", maxTokens);
    s.put("stop", stop);
    s.put("batch_size", batchSize);
    s.put("batch_position", batchPosition);
    root.put("settings", s);
    root.put("engine", engineSettings);
    root.put("text", c.text());
    root.put("tokens", c.tokens());
    root.put("stop_reason", c.stopReason().name().toLowerCase(Locale.ROOT));
    List<Map<String, Object>> st = new ArrayList<>();
    for (Step x : table) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("step", x.step());
      m.put("token", x.token());
      m.put("text", x.text());
      m.put("logit", x.logit());
      m.put("probability", x.probability());
      m.put("runner_up", x.runnerUp());
      m.put("runner_up_text", x.runnerUpText());
      m.put("runner_up_logit", x.runnerUpLogit());
      m.put("margin", x.margin());
      m.put("near_tie", x.margin() < nearTie);
      if (!Double.isNaN(x.draw())) {
        m.put("draw", x.draw());
      }
      if (!Double.isNaN(x.drawMargin())) {
        m.put("draw_margin", Double.isInfinite(x.drawMargin()) ? null : x.drawMargin());
      }
      st.add(m);
    }
    root.put("steps", st);
    return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
  }
}
