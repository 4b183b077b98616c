package io.tokendrift.spec;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The canonical form of everything that defines a spec's runs, hashed into the trace header: a
 * resumed trace, a merged shard and a forked child all check it. Its text must not change for a
 * spec that did not (RunIdentityGoldenTest pins it).
 */
public final class SpecHash {
  private SpecHash() {}

  /** The spec's hash: SHA-256 of its canonical form, in hex. */
  public static String of(ExperimentSpec s) {
    StringBuilder b = new StringBuilder();
    b.append("name=").append(s.name()).append('\n');
    b.append("model=").append(s.model()).append('\n');
    if (!s.engine().isDefault()) {
      // Only a named engine enters the hash: specs written before engines existed keep theirs.
      b.append("engine=").append(s.engine()).append('\n');
    }
    for (ExperimentSpec.Prompt p : s.prompts()) {
      b.append("prompt=").append(p.id()).append('\t').append(p.text()).append('\n');
    }
    b.append("decoding=").append(s.decoding().key()).append(s.decoding().seeds());
    b.append('\n').append("axes=").append(s.axes()).append('\n');
    if (s.remote()) {
      ProviderAxes p = s.provider();
      b.append("provider=api")
          .append(p.apis())
          .append(",batch_invariant")
          .append(p.serverInvariant())
          .append(",concurrency")
          .append(p.concurrency())
          .append(",logprobs")
          .append(p.logprobs())
          .append(",seed_sent")
          .append(p.seedSent())
          .append(",interval=")
          .append(p.intervalSeconds())
          .append('\n');
      if (p.truthModel() != null) {
        b.append("truth_model=").append(p.truthModel()).append('\n');
      }
      if (!p.serverPrecisions().isEmpty()) {
        b.append("server_precision=").append(p.serverPrecisions()).append('\n');
      }
      if (!p.requests().isEmpty()) {
        // Only a spec with request sets adds this line: the hashes of specs without keep theirs.
        b.append("request=").append(p.requests()).append('\n');
      }
    }
    if (!s.expectations().isEmpty()) {
      // Only specs with expected answers add this line: the others keep their hashes.
      b.append("expect=").append(s.expectations()).append('\n');
    }
    b.append("reference=").append(s.referenceKey()).append('\n');
    b.append("record=").append(s.record()).append('\n');
    return sha256(b.toString());
  }

  /** SHA-256 of the UTF-8 bytes of {@code s}, in lower-case hex. */
  public static String sha256(String s) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(md.digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
