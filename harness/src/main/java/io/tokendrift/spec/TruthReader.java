package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import java.util.List;

/**
 * Reads a spec's {@code truth}: {@code fp64} for a local engine (the float64 point every run is
 * measured against), {@code {model: M}} for an HTTP provider (the weights it serves).
 */
final class TruthReader {
  private final SpecFields f;

  TruthReader(SpecFields f) {
    this.f = f;
  }

  /**
   * {@code truth: fp64}: the float64 point every run is measured against, added to the precision
   * axis when the spec does not list it (the analysis's "Against float64" section reads it).
   */
  SpecAxes withTruth(SpecAxes axes, JsonNode truth, EngineProvider engineKind) {
    if (truth == null) {
      return axes;
    }
    if (engineKind.remote()) {
      return axes; // a provider's truth is the model it serves ({model: M}), read with its axes
    }
    if (truth.isObject()) {
      throw f.error(
          "truth",
          "{model: M} compares a provider's served logprobs with a local model; for a local engine"
              + " write truth: fp64");
    }
    if (!truth.isTextual() || !truth.asText().equals("fp64")) {
      throw f.error("truth", "must be fp64 (a float64 point every run is measured against)");
    }
    if (axes.precisions().contains(Precision.FP64)) {
      return axes;
    }
    List<Precision> p = new java.util.ArrayList<>(axes.precisions());
    p.add(Precision.FP64);
    return axes.toBuilder().precisions(List.copyOf(p)).build();
  }

  /**
   * A provider's {@code truth: {model: M}}: the weights it serves, whose float64 log-probabilities
   * the served ones are compared with (with {@code base_url: local}, the spec's model by default:
   * {@code truth: {model: bundled}}); null without.
   */
  String providerTruth(JsonNode n, ProviderAxes p, String model, EngineSpec engine) {
    if (n == null) {
      return null;
    }
    if (!n.isObject()) {
      throw f.error(
          "truth",
          "for an HTTP provider, {model: M}: the weights it serves (bundled or a folder), whose"
              + " float64 log-probabilities its served ones are compared with; fp64 is a local"
              + " engine's point");
    }
    f.checkKeys(n, "truth", SpecFields.keys("model"));
    boolean local = Engines.provider(engine.kind()).remoteSettings(engine).local();
    String m = f.string(n, "truth.model", local ? model : null);
    if (p.apis().contains("chat")) {
      throw f.error(
          "truth",
          "compares the completions API's logprobs (the prompt as sent is the prompt the local"
              + " model reads); the chat API applies the server's template: set api: completions");
    }
    if (!p.logprobs().contains(true)) {
      throw f.error("truth", "needs logprobs: the logprobs axis must include true");
    }
    java.nio.file.Path folder = ExperimentSpec.modelFolder(m, f.t.file);
    if (folder != null && !java.nio.file.Files.isDirectory(folder)) {
      throw f.error("truth.model", "no model folder at " + folder);
    }
    return m;
  }
}
