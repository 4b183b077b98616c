package io.tokendrift.engine;

/**
 * What the experiment needs to know of a remote engine's options, defaults applied by the engine
 * itself ({@link EngineProvider#remoteSettings}), so that no caller restates them.
 *
 * @param local whether the experiment starts its own server ({@code base_url: local})
 * @param baseUrl the API root as given ({@code local} for a started server)
 * @param model the model asked for (empty: the server's own, for a started server)
 * @param defaultApi {@code chat} or {@code completions}: the api axis's value when the spec does
 *     not vary it
 * @param apiKeyEnv the variable holding the API key, or null
 * @param maxConcurrency requests in flight at most
 * @param topLogprobs alternatives per token asked for when logprobs are on
 * @param maxBatch for a started server: its largest batch
 */
public record RemoteSettings(
    boolean local,
    String baseUrl,
    String model,
    String defaultApi,
    String apiKeyEnv,
    int maxConcurrency,
    int topLogprobs,
    int maxBatch) {}
