package io.tokendrift.cli;

import io.tokendrift.experiment.ProviderPlan;
import io.tokendrift.spec.ExperimentSpec;
import io.tokendrift.spec.ProviderPoint;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** What {@code run} says and checks before a provider experiment: its size and its cost guard. */
final class ProviderCommands {
  private ProviderCommands() {}

  /** {@code --dry-run} of a provider spec: points, requests and an upper bound on tokens. */
  static void printGrid(PrintWriter o, ExperimentSpec s, ProviderPlan plan, int[] sh) {
    o.printf(Locale.ROOT, "experiment %s (%s)%n", s.name(), s.source());
    io.tokendrift.engine.RemoteSettings r = s.remoteSettings();
    o.printf(
        Locale.ROOT,
        "provider: %s, model %s, api %s%n",
        r.local()
            ? "local tokendrift serve (started by the run)"
            : "openai at " + redacted(r.baseUrl()),
        r.model().isEmpty() ? "(served model)" : r.model(),
        r.defaultApi());
    o.printf(
        Locale.ROOT,
        "prompts: %d, seeds: %s, repeats: %d%s, temperature %s, max_tokens %d%n",
        s.prompts().size(),
        s.decoding().seeds(),
        s.axes().repeats(),
        s.provider().intervalSeconds() > 0
            ? " (" + s.provider().intervalSeconds() + " s apart)"
            : "",
        s.decoding().temperature(),
        s.decoding().maxTokens());
    s.provider()
        .requests()
        .forEach((name, json) -> o.printf(Locale.ROOT, "request %s adds %s%n", name, json));
    List<ProviderPoint> points = s.provider().points();
    o.printf(Locale.ROOT, "points: %d%n", points.size());
    for (ProviderPoint p : points) {
      o.printf(
          Locale.ROOT,
          "  %s%s%n",
          p.key(),
          p.equals(s.provider().reference()) ? "   <- reference" : "");
    }
    List<ProviderPlan.Wave> mine = plan.shard(sh[0], sh[1]);
    long requests = ProviderPlan.requests(mine);
    long runs = mine.stream().mapToLong(w -> w.runs().size()).sum();
    o.printf(
        Locale.ROOT,
        "grid: %d points x %d prompts x %d seeds x %d repeats = %d runs%n",
        points.size(),
        s.prompts().size(),
        s.decoding().seeds().size(),
        s.axes().repeats(),
        s.gridSize());
    o.printf(
        Locale.ROOT,
        "%s: %,d requests in %,d waves (%,d recorded, %,d fillers); at most %,d generated tokens"
            + " and %,d prompt characters (retries not counted)%n",
        sh[1] == 1 ? "cost" : "shard " + sh[0] + "/" + sh[1],
        requests,
        mine.size(),
        runs,
        requests - runs,
        requests * s.decoding().maxTokens(),
        ProviderPlan.promptCharacters(mine));
  }

  /**
   * Refuses a provider run above the guard without {@code --yes}: it may cost money.
   *
   * @throws UserInputException saying the size and how to confirm
   */
  static void guard(
      ExperimentSpec s,
      ProviderPlan plan,
      int[] sh,
      boolean yes,
      long maxRequests,
      long maxTokens) {
    if (yes || s.remoteSettings().local()) {
      return;
    }
    long requests = ProviderPlan.requests(plan.shard(sh[0], sh[1]));
    long tokens = requests * s.decoding().maxTokens();
    if (requests > maxRequests || tokens > maxTokens) {
      throw new UserInputException(
          String.format(
              Locale.ROOT,
              "%s: this run sends %,d requests that may generate up to %,d tokens (the guard is %,d"
                  + " requests or %,d tokens); check the size with --dry-run, then add --yes to"
                  + " confirm",
              s.source(),
              requests,
              tokens,
              maxRequests,
              maxTokens));
    }
  }

  /** The guard for commands that run a whole spec ({@code check}, {@code baseline record}). */
  static void guard(ExperimentSpec s, boolean yes) {
    if (s.remote()) {
      guard(
          s,
          new ProviderPlan(s),
          new int[] {0, 1},
          yes,
          RunCommand.COST_GUARD_REQUESTS,
          RunCommand.COST_GUARD_TOKENS);
    }
  }

  private static String redacted(String url) {
    return url.replaceAll("//[^/@]*@", "//").replaceAll("[?#].*$", "");
  }
}
