package io.tokendrift.engine;

import io.tokendrift.model.Gpt2Weights;
import io.tokendrift.model.ModelDir;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The one way to get an engine: turns an {@link EngineSpec} into the provider of its kind and the
 * provider's engines. The runner, {@code generate}, {@code bench} and the JUnit extension all come
 * here; only the providers know which library computes the logits.
 */
public final class Engines {
  private static volatile List<EngineProvider> providers;

  private Engines() {}

  /** Every provider on the class path, sorted by kind. */
  public static List<EngineProvider> providers() {
    List<EngineProvider> p = providers;
    if (p == null) {
      List<EngineProvider> found = new ArrayList<>();
      ServiceLoader.load(EngineProvider.class, Engines.class.getClassLoader()).forEach(found::add);
      found.sort(Comparator.comparing(EngineProvider::kind));
      p = List.copyOf(found);
      providers = p;
    }
    return p;
  }

  /** The kinds that can be named, in order, e.g. {@code [djl]}. */
  public static List<String> kinds() {
    return providers().stream().map(EngineProvider::kind).toList();
  }

  /**
   * The provider of {@code kind}.
   *
   * @throws IllegalArgumentException naming the allowed kinds when there is none
   */
  public static EngineProvider provider(String kind) {
    for (EngineProvider p : providers()) {
      if (p.kind().equals(kind)) {
        return p;
      }
    }
    throw new IllegalArgumentException(
        "engine '" + kind + "' is not known; allowed: " + String.join(", ", kinds()));
  }

  /**
   * Checks a spec's options against its provider.
   *
   * @throws IllegalArgumentException naming the option and the allowed ones
   */
  public static EngineProvider check(EngineSpec spec) {
    EngineProvider p = provider(spec.kind());
    for (String k : spec.options().keySet()) {
      if (!p.optionKeys().contains(k)) {
        throw new UnknownOptionException(p, k);
      }
    }
    return p;
  }

  /** An option the engine's kind does not take: the one wording of that refusal. */
  public static final class UnknownOptionException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String key;

    UnknownOptionException(EngineProvider p, String key) {
      super(
          "engine '"
              + p.kind()
              + "' has no option '"
              + key
              + "'; allowed: "
              + (p.optionKeys().isEmpty()
                  ? "none"
                  : String.join(", ", new java.util.TreeSet<>(p.optionKeys()))));
      this.key = key;
    }

    /** The option's name. */
    public String key() {
      return key;
    }
  }

  /** Loads a model folder for the engine {@code spec} names. */
  public static EngineLoader load(EngineSpec spec, ModelDir model) {
    return check(spec).load(spec, model);
  }

  /** Loads in-memory weights for the engine {@code spec} names. */
  public static EngineLoader load(EngineSpec spec, Gpt2Weights weights) {
    return check(spec).load(spec, weights);
  }

  /** Loads in-memory Llama-family weights for the engine {@code spec} names. */
  public static EngineLoader load(EngineSpec spec, io.tokendrift.model.LlamaWeights weights) {
    return check(spec).load(spec, weights);
  }

  /** Opens one engine: the model folder loaded, then opened with {@code options}. */
  public static Engine open(EngineSpec spec, ModelDir model, EngineOptions options) {
    return load(spec, model).open(options);
  }
}
