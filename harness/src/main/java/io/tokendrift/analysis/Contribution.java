package io.tokendrift.analysis;

import java.util.List;

/**
 * What one run record brings to an analysis, computed against the references ({@link
 * Tally#contribute}) and counted in the order the records come ({@link Tally#add}): the unit a
 * shard's partial analysis stores, so that combining partials counts exactly what one pass over the
 * merged trace counts.
 *
 * @param result its comparison (per-step drift included) and verdict so far
 * @param tokens its tokens when the analysis keeps them (it diverged, or its prompt has an expected
 *     answer), else null
 * @param text its text, under the same rule
 * @param env its environment (null unless the spec varies env)
 * @param groups per mode-axis group summary, in the analysis's order (entries may be null)
 * @param truth against float64 (null when not compared)
 * @param provider what a provider's run says beyond its tokens (null for a local engine's)
 */
record Contribution(
    Analyzer.RunResult result,
    int[] tokens,
    String text,
    EnvSummary.Seen env,
    List<GroupSummary.Seen> groups,
    Truth.Seen truth,
    ProviderSummary.Seen provider) {}
