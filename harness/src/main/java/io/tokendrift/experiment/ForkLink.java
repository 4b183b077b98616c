package io.tokendrift.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Failures;
import io.tokendrift.spec.ExperimentSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The link between the runner and a forked child (as JMH's {@code link} package is between its
 * runner and {@code ForkedMain}): what the parent sends, what the child answers, one JSON value per
 * line.
 *
 * <p>The parent starts the child with a job file ({@link Job}: the spec, the hash the parent's
 * trace holds, the engines' options as the parent runs them, the environment's name). Then, on the
 * child's standard input, one {@link Command} per forward-pass group: its index in the plan, the
 * ids of its runs (the child checks its own plan agrees) and those already recorded. The child
 * answers on its standard output with {@value #RECORD} lines (one run record each), then {@value
 * #END} and the index when the group is done; a job it cannot do at all is one {@value #FAILURE}
 * line ({@link Failure}: the exception's type, message and causes) and exit code 3. Closing its
 * input ends it.
 */
final class ForkLink {
  static final String RECORD = "TDRUN ";
  static final String END = "TDEND ";
  static final String FAILURE = "TDFAIL ";
  static final ObjectMapper JSON = new ObjectMapper();

  private ForkLink() {}

  /**
   * What a child is given when it starts.
   *
   * @param spec the spec file
   * @param specSha256 the hash of the spec as the parent runs it (engine options applied): a child
   *     that reads another refuses the job
   * @param engineOptions the spec engine's options (with no engine axis)
   * @param axisEngineOptions each engine of the axis → its options
   * @param env the environment the child runs
   */
  record Job(
      Path spec,
      String specSha256,
      Map<String, String> engineOptions,
      Map<String, Map<String, String>> axisEngineOptions,
      String env) {

    static Job of(ExperimentSpec spec, String env) {
      Map<String, Map<String, String>> axis = new TreeMap<>();
      for (ExperimentSpec.NamedEngine e : spec.axes().engines()) {
        axis.put(e.name(), new TreeMap<>(e.spec().options()));
      }
      return new Job(
          spec.source().toAbsolutePath(),
          spec.hash(),
          new TreeMap<>(spec.engine().options()),
          axis,
          env);
    }

    String json() {
      ObjectNode n = JSON.createObjectNode();
      n.put("spec", spec.toString());
      n.put("spec_sha256", specSha256);
      engineOptions.forEach(n.putObject("engine_options")::put);
      ObjectNode axis = n.putObject("axis_engine_options");
      axisEngineOptions.forEach((name, o) -> o.forEach(axis.putObject(name)::put));
      n.put("env", env);
      return n.toString();
    }

    static Job parse(String json) throws IOException {
      JsonNode n = JSON.readTree(json);
      Map<String, Map<String, String>> axis = new TreeMap<>();
      n.path("axis_engine_options")
          .fields()
          .forEachRemaining(e -> axis.put(e.getKey(), map(e.getValue())));
      return new Job(
          Path.of(n.get("spec").asText()),
          n.get("spec_sha256").asText(),
          map(n.path("engine_options")),
          axis,
          n.get("env").asText());
    }

    /**
     * The spec as the parent runs it: read from the file, the parent's engine options applied.
     *
     * @throws SpecChangedException when the file no longer hashes to what the parent's trace holds
     */
    ExperimentSpec read() {
      ExperimentSpec s = ExperimentSpec.read(spec);
      if (s.axes().engines().isEmpty()) {
        if (!engineOptions.equals(new TreeMap<>(s.engine().options()))) {
          s = s.withEngineOptions(engineOptions);
        }
      } else {
        for (ExperimentSpec.NamedEngine e : s.axes().engines()) {
          Map<String, String> o = axisEngineOptions.getOrDefault(e.name(), Map.of());
          if (!o.equals(new TreeMap<>(e.spec().options()))) {
            s = s.withAxisEngine(e.name(), new EngineSpec(e.spec().kind(), o));
          }
        }
      }
      if (!s.hash().equals(specSha256)) {
        throw new SpecChangedException(
            spec
                + " changed after the run started (sha256 "
                + s.hash().substring(0, 12)
                + "…, the run's "
                + specHashShort()
                + "…): its plan is not the run's; put the spec back, or start over with --force");
      }
      return s;
    }

    private String specHashShort() {
      return specSha256.substring(0, Math.min(12, specSha256.length()));
    }
  }

  /** The spec file a child was given no longer describes the parent's run. */
  static final class SpecChangedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    SpecChangedException(String message) {
      super(message);
    }
  }

  /**
   * Run one forward-pass group.
   *
   * @param index the group's index in the plan
   * @param runs the ids of its runs, as the parent planned them
   * @param done those already in the trace
   */
  record Command(int index, List<String> runs, Set<String> done) {
    String json() {
      ObjectNode n = JSON.createObjectNode();
      n.put("index", index);
      runs.forEach(n.putArray("runs")::add);
      ArrayNode d = n.putArray("done");
      runs.stream().filter(done::contains).forEach(d::add);
      return n.toString();
    }

    static Command parse(String json) throws IOException {
      JsonNode n = JSON.readTree(json);
      List<String> runs = new ArrayList<>();
      n.get("runs").forEach(r -> runs.add(r.asText()));
      Set<String> done = new java.util.HashSet<>();
      n.get("done").forEach(r -> done.add(r.asText()));
      return new Command(n.get("index").asInt(), runs, done);
    }
  }

  /**
   * Why a child could not do its job, typed: the exception's class, message and causes.
   *
   * @param type the exception's simple class name, e.g. {@code SpecChangedException}
   * @param message its message
   * @param described the whole chain as {@link Failures#describe} writes it
   */
  record Failure(String type, String message, String described) {
    static Failure of(Throwable t) {
      return new Failure(
          t.getClass().getSimpleName(), String.valueOf(t.getMessage()), Failures.describe(t));
    }

    String json() {
      ObjectNode n = JSON.createObjectNode();
      n.put("type", type);
      n.put("message", message);
      n.put("described", described);
      return n.toString();
    }

    static Failure parse(String json) {
      try {
        JsonNode n = JSON.readTree(json);
        return new Failure(
            n.path("type").asText(), n.path("message").asText(), n.path("described").asText());
      } catch (IOException e) {
        throw new UncheckedIOException("a child's failure line is not JSON: " + json, e);
      }
    }
  }

  private static Map<String, String> map(JsonNode n) {
    Map<String, String> m = new TreeMap<>();
    n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }
}
