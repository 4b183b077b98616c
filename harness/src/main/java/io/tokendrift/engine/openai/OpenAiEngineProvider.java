package io.tokendrift.engine.openai;

import io.tokendrift.engine.Axis;
import io.tokendrift.engine.EngineLoader;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.RemoteEngine;
import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import java.util.EnumSet;
import java.util.Set;

/**
 * The {@code openai} engine: any server that speaks OpenAI's completions or chat API. It samples
 * for itself, so the experiment varies what a client controls: concurrency, logprobs, seed, API —
 * and, for {@code base_url: local}, the started server's batch-invariant mode.
 */
public final class OpenAiEngineProvider implements EngineProvider {
  @Override
  public String kind() {
    return "openai";
  }

  @Override
  public Set<Axis> axes() {
    return Axis.PROVIDER;
  }

  @Override
  public Set<Axis> axes(EngineSpec spec) {
    if (OpenAiOptions.LOCAL.equals(spec.options().get("base_url"))) {
      EnumSet<Axis> s = EnumSet.copyOf(Axis.PROVIDER);
      s.add(Axis.BATCH_INVARIANT); // the started server's mode is ours to choose
      s.add(Axis.PRECISION); // and its engine's precision (a provider's dtype)
      return s;
    }
    return Axis.PROVIDER;
  }

  @Override
  public int maxBatch() {
    return 1;
  }

  @Override
  public Set<String> optionKeys() {
    return OpenAiOptions.KEYS;
  }

  @Override
  public int gpuCount() {
    return 0;
  }

  @Override
  public boolean remote() {
    return true;
  }

  @Override
  public void checkOptions(EngineSpec spec) {
    OpenAiOptions.of(spec);
  }

  @Override
  public io.tokendrift.engine.RemoteSettings remoteSettings(EngineSpec spec) {
    OpenAiOptions o = OpenAiOptions.of(spec);
    return new io.tokendrift.engine.RemoteSettings(
        o.local(),
        o.baseUrl(),
        o.model(),
        o.chat() ? "chat" : "completions",
        o.apiKeyEnv(),
        o.maxConcurrency(),
        o.topLogprobs(),
        o.maxBatch());
  }

  @Override
  public RemoteEngine openRemote(EngineSpec spec) {
    return new OpenAiEngine(OpenAiOptions.of(spec));
  }

  @Override
  public EngineLoader load(EngineSpec spec, ModelDir model) {
    throw new IllegalArgumentException(
        "engine 'openai' asks a server for completions; it does not run a model folder");
  }

  @Override
  public EngineLoader load(EngineSpec spec, Gpt2Weights weights) {
    throw new IllegalArgumentException(
        "engine 'openai' asks a server for completions; it does not run local weights");
  }
}
