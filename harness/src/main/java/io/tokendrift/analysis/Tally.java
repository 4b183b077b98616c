package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.analysis.Analyzer.Verdict;
import io.tokendrift.trace.PointKey;
import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.TraceHeader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An analysis's second pass: each run compared with its references ({@link #contribute}), and what
 * it brings counted ({@link #add}) — in one process, or in each shard's process with the counting
 * done where the shards' partials are combined.
 */
final class Tally {
  private final ReferenceSet refs;
  private final TraceHeader header;
  private final List<RunResult> results = new ArrayList<>();
  private final RunSpill spill;
  private final Map<PointKey, PointKey> points = new HashMap<>();
  private final Map<String, String> prompts = new HashMap<>(); // one instance of each id and text
  private final Reference.LastRead lastRead = new Reference.LastRead();
  private final Set<String> expected;
  private final List<GroupSummary> groups;
  private ProviderSummary provider;

  /** Counts against {@code refs}; the analysis states {@code header} (a combine's: all shards). */
  Tally(ReferenceSet refs, TraceHeader header, int inMemory) {
    this.refs = refs;
    this.header = header;
    this.spill = new RunSpill(inMemory);
    this.expected = header.expectations().keySet();
    this.groups = List.copyOf(refs.groups.values());
  }

  /** Compares a run with its references: what it brings, not counted yet. */
  Contribution contribute(RunRecord rec) {
    Reference entry = refs.refs.get(Analyzer.refKey(rec.promptId(), rec.seed()));
    // The whole reference (its top-K) only where a comparison reads it; the last one kept.
    RunRecord ref = null;
    if (entry != null) {
      boolean compares =
          rec.status() == RunRecord.Status.OK
              && !Analyzer.lostConcurrency(rec)
              && !entry.id().equals(rec.id());
      ref = compares ? lastRead.of(entry) : entry.light();
    }
    RunResult result = Analyzer.first(rec, ref);
    Comparison c = result.comparison();
    boolean words =
        (c != null && !c.identical())
            || (rec.status() == RunRecord.Status.OK && expected.contains(rec.promptId()));
    List<GroupSummary.Seen> g = new ArrayList<>(groups.size());
    for (GroupSummary s : groups) {
      g.add(s.seen(rec, ref != null && ref.steps() != null ? ref : null));
    }
    Truth.Seen t = null;
    if (refs.truth != null && refs.truth.present()) {
      t =
          refs.truth.seen(
              rec, ref, c == null ? -1 : c.divIndex(), result.verdict() == Verdict.REFERENCE);
    }
    return new Contribution(
        result,
        words ? rec.tokens() : null,
        words ? rec.text() : null,
        refs.envs == null ? null : EnvSummary.seen(rec),
        g,
        t,
        ProviderSummary.seen(rec, ref, result));
  }

  /** Counts what a run brought, in the order the runs come. */
  void add(Contribution c) {
    results.add(kept(c));
    if (refs.envs != null) {
      refs.envs.add(c.env());
    }
    if (c.groups().size() != groups.size()) {
      throw new IllegalStateException(
          "run "
              + c.result().id()
              + " names "
              + c.groups().size()
              + " groups, not "
              + groups.size());
    }
    for (int i = 0; i < groups.size(); i++) {
      groups.get(i).add(c.groups().get(i));
    }
    if (refs.truth != null && refs.truth.present()) {
      refs.truth.add(c.truth());
    }
    if (c.provider() != null) {
      if (provider == null) {
        provider = new ProviderSummary();
      }
      provider.add(c.provider());
    }
  }

  /**
   * The result as the analysis keeps it: shared prompt and point instances, and in the spill its
   * drift (when compared) and its tokens and text (when it diverged, or its prompt has an expected
   * answer): what the floors, the divergence list and the answers read again.
   */
  private RunResult kept(Contribution contribution) {
    RunResult r = contribution.result();
    PointKey point = points.computeIfAbsent(r.point(), k -> k);
    String promptId = prompts.computeIfAbsent(r.promptId(), k -> k);
    String prompt = prompts.computeIfAbsent(promptId + "\u0000" + r.prompt(), k -> r.prompt());
    Comparison c = r.comparison();
    boolean words = contribution.tokens() != null;
    long at = -1;
    if (c != null || words) {
      at =
          spill.put(
              c == null ? null : c.perStepDrift(), contribution.tokens(), contribution.text());
    }
    return r.kept(promptId, prompt, point, at);
  }

  /** The analysis of what was counted; {@code torn}: the records found cut off. */
  Analysis build(Analyzer.Options o, List<String> torn) {
    spill.finish();
    refs.groups.values().forEach(GroupSummary::endPass);
    double temperature = Double.parseDouble(header.decoding().getOrDefault("temperature", "0"));
    return Analysis.build(
        header,
        refs.reference,
        refs.refs,
        results,
        o,
        temperature,
        torn,
        refs.providerTexts,
        provider,
        refs.envs,
        refs.groups.values().stream().filter(GroupSummary::varied).toList(),
        refs.truth != null && refs.truth.present() ? refs.truth : null,
        spill);
  }
}
