package io.tokendrift.experiment;

import io.tokendrift.spec.ExperimentSpec;

/**
 * A spec's grid planned into units of work: forward-pass groups ({@link Plan}) for a local engine,
 * waves of concurrent requests ({@link ProviderPlan}) for an HTTP provider. {@link Runner#run}
 * drives either through the one run loop.
 */
public sealed interface Planned permits Plan, ProviderPlan {
  /** The spec planned. */
  ExperimentSpec spec();

  /** Runs shard {@code index} of {@code count} records. */
  long runsIn(int index, int count);

  /** What a unit is, in the plural, for a summary line (e.g. {@code forward batches}). */
  String unitNoun();

  /** The plan of {@code spec}: waves for an HTTP provider, forward-pass groups otherwise. */
  static Planned of(ExperimentSpec spec) {
    return spec.remote() ? new ProviderPlan(spec) : new Plan(spec);
  }
}
