package io.tokendrift.trace;

import java.util.Map;

/**
 * The first line of a trace: what experiment wrote it and in which environment.
 *
 * @param experiment the experiment's name
 * @param specSha256 SHA-256 of the spec's canonical form: resume and merge require it to match
 * @param gridSize runs in the whole grid (all shards)
 * @param reference the reference point's key
 * @param decoding the decoding settings shared by every run
 * @param recording top-K size and full-logits flag
 * @param shard "i/n", or "all"
 * @param manifest the environment: JVM, OS, CPU, libraries, threads, device, model hash, version
 * @param expectations prompt id → its expected answer ({@link Expectation#json()}), for the prompts
 *     that have one (empty: none; the line then holds no {@code expect} object)
 * @param compareWithin axes whose values the analysis also compares as groups with references of
 *     their own, beyond the mode axes it always does ({@code compare_within:}; empty: none)
 */
public record TraceHeader(
    String experiment,
    String specSha256,
    long gridSize,
    String reference,
    Map<String, String> decoding,
    Map<String, String> recording,
    String shard,
    Map<String, String> manifest,
    Map<String, String> expectations,
    java.util.List<String> compareWithin) {
  /**
   * Current schema. Version 2 adds, for runs of an HTTP provider, the {@code provider} object and
   * the steps' token texts; a local engine's records are as in version 1.
   */
  public static final String SCHEMA = "tokendrift.trace/2";

  /** Every schema this version reads. */
  public static final java.util.List<String> READS =
      java.util.List.of("tokendrift.trace/1", SCHEMA);

  public TraceHeader {
    decoding = Map.copyOf(decoding);
    recording = Map.copyOf(recording);
    manifest = Map.copyOf(manifest);
    expectations = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(expectations));
    compareWithin = java.util.List.copyOf(compareWithin);
  }

  /** The same header for another shard label ({@code all} for a merge of every shard). */
  public TraceHeader withShard(String label) {
    return new TraceHeader(
        experiment,
        specSha256,
        gridSize,
        reference,
        decoding,
        recording,
        label,
        manifest,
        expectations,
        compareWithin);
  }

  /** A header with expected answers and no extra group axes. */
  public TraceHeader(
      String experiment,
      String specSha256,
      long gridSize,
      String reference,
      Map<String, String> decoding,
      Map<String, String> recording,
      String shard,
      Map<String, String> manifest,
      Map<String, String> expectations) {
    this(
        experiment,
        specSha256,
        gridSize,
        reference,
        decoding,
        recording,
        shard,
        manifest,
        expectations,
        java.util.List.of());
  }

  /** A header whose prompts have no expected answers. */
  public TraceHeader(
      String experiment,
      String specSha256,
      long gridSize,
      String reference,
      Map<String, String> decoding,
      Map<String, String> recording,
      String shard,
      Map<String, String> manifest) {
    this(
        experiment,
        specSha256,
        gridSize,
        reference,
        decoding,
        recording,
        shard,
        manifest,
        Map.of());
  }
}
