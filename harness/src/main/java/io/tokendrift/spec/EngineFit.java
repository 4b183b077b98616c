package io.tokendrift.spec;

import io.tokendrift.engine.Axis;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import io.tokendrift.engine.SummationOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * What an engine can run: the one capability check. Each axis has one rule here, used at two
 * scales: a spec with one engine is refused where it varies an axis its engine cannot ({@link
 * #checkAxes}, at the axis's own location), and in an engine-axis grid, which holds combinations
 * one engine cannot compute (bf16 on DJL, a split-K order on torch), those points are recorded as
 * skipped with {@link #refusal}'s reason, as a GPU point on a machine without one is when the
 * device axis is optional. A value no engine of the axis can run, and an engine that runs none of
 * the grid, are spec errors ({@link #check}).
 */
public final class EngineFit {
  private EngineFit() {}

  /**
   * One axis an engine may be unable to vary.
   *
   * @param axis the axis
   * @param field where a spec gives it
   * @param values its values in a spec's axes
   * @param value its value at a point
   * @param fixed its value at every point of an engine that cannot vary it
   * @param cannot the point-level reason, given the point's value
   */
  private record Rule(
      Axis axis,
      String field,
      Function<SpecAxes, List<?>> values,
      Function<Point, Object> value,
      Object fixed,
      Function<Object, String> cannot) {}

  private static final List<Rule> RULES =
      List.of(
          new Rule(
              Axis.DEVICE,
              "axes.device",
              SpecAxes::devices,
              Point::device,
              DeviceSpec.CPU,
              v -> "runs on the CPU only, not " + v),
          new Rule(
              Axis.BATCH_SIZE,
              "axes.batch.sizes",
              SpecAxes::batchSizes,
              Point::batchSize,
              1,
              v -> "cannot vary the batch size"),
          new Rule(
              Axis.BATCH_POSITION,
              "axes.batch.positions",
              SpecAxes::batchPositions,
              Point::batchPosition,
              0,
              v -> "cannot vary the batch position"),
          new Rule(
              Axis.SUMMATION,
              "axes.summation",
              SpecAxes::summations,
              Point::summation,
              SummationOrder.NATIVE,
              v -> "runs its library's own summation order, not " + v),
          new Rule(
              Axis.PRECISION,
              "axes.precision",
              SpecAxes::precisions,
              Point::precision,
              Precision.FP32,
              v -> "does not compute in " + ((Precision) v).label()),
          new Rule(
              Axis.THREADS,
              "axes.threads",
              SpecAxes::threads,
              Point::threads,
              Defaults.THREADS,
              v -> "cannot set the thread count"),
          new Rule(
              Axis.BATCH_INVARIANT,
              "axes.batch_invariant",
              SpecAxes::batchInvariant,
              Point::batchInvariant,
              false,
              v -> "has no batch-invariant mode"),
          new Rule(
              Axis.KV_CACHE,
              "axes.kv_cache",
              SpecAxes::kvCache,
              Point::cached,
              true,
              v -> "cannot turn its KV cache off"));

  /** Why {@code engine} cannot run point {@code p}, or null when it can. */
  public static String refusal(EngineSpec engine, Point p) {
    EngineProvider engineKind = Engines.provider(engine.kind());
    Set<Axis> can = engineKind.axes(engine);
    String k = "engine '" + engine.kind() + "'";
    if (p.batchSize() > engineKind.maxBatch()) {
      return k + " runs at most " + engineKind.maxBatch() + " rows in one batch";
    }
    if (!engineKind.precisions().contains(p.precision())) {
      return k + " does not compute in " + p.precision().label() + note(engineKind, p.precision());
    }
    for (Rule r : RULES) {
      Object v = r.value().apply(p);
      if (!can.contains(r.axis()) && !v.equals(r.fixed())) {
        return k
            + " "
            + r.cannot().apply(v)
            + (r.axis() == Axis.PRECISION ? note(engineKind, (Precision) v) : "");
      }
    }
    return null;
  }

  /** "; engine K computes in P" for the local engines that do, or nothing. */
  private static String computedBy(Precision p) {
    List<String> kinds = new ArrayList<>();
    for (EngineProvider e : Engines.providers()) {
      if (!e.remote() && e.precisions().contains(p) && e.axes().contains(Axis.PRECISION)) {
        kinds.add(e.kind());
      }
    }
    return kinds.isEmpty()
        ? ""
        : "; engine " + String.join(", ", kinds) + " computes in " + p.label();
  }

  private static String note(EngineProvider engineKind, Precision p) {
    String n = engineKind.precisionNote(p);
    return n.isEmpty() ? "" : " (" + n + ")";
  }

  /**
   * Refuses the axes of a spec with one engine where they vary what the engine cannot: such an axis
   * may only hold its one fixed value, batch sizes must fit the engine's largest batch, and
   * precisions must be ones it computes in.
   */
  static void checkAxes(SpecAxes a, EngineSpec engine, EngineProvider p, SpecFields f) {
    Set<Axis> can = p.axes(engine);
    String k = "engine '" + engine.kind() + "'";
    SpecAxes defaults = SpecAxes.builder().build();
    for (Rule r : RULES) {
      if (can.contains(r.axis()) || r.values().apply(a).equals(r.values().apply(defaults))) {
        continue;
      }
      if (r.axis() == Axis.KV_CACHE) {
        throw f.error(r.field(), k + " cannot vary kv_cache (a provider keeps its own cache)");
      }
      Object fixed = r.values().apply(defaults).get(0);
      throw f.error(
          r.field(),
          k
              + " cannot vary "
              + r.axis().label()
              + " (it stays "
              + (fixed instanceof Precision pr ? pr.label() : fixed)
              + "); axes it can vary: "
              + (can.isEmpty()
                  ? "none"
                  : String.join(
                      ", ",
                      Arrays.stream(Axis.values())
                          .filter(can::contains)
                          .map(Axis::label)
                          .toList())));
    }
    Set<Precision> computes = p.precisions();
    for (int i = 0; i < a.precisions().size(); i++) {
      Precision pr = a.precisions().get(i);
      if (!computes.contains(pr)) {
        List<String> allowed = new ArrayList<>();
        for (Precision x : Precision.values()) {
          if (computes.contains(x)) {
            allowed.add(x.label());
          }
        }
        throw f.error(
            "axes.precision[" + i + "]",
            "'"
                + pr.label()
                + "' is not allowed; allowed: "
                + String.join(", ", allowed)
                + (p.precisionNote(pr).isEmpty()
                    ? " for " + k
                    : " (" + p.precisionNote(pr) + computedBy(pr) + ")"));
      }
    }
    if (!a.env().isEmpty() && p.remote()) {
      throw f.error(
          "axes.env",
          k
              + " answers over HTTP: its math library runs in the server's process, whose"
              + " environment this spec cannot set; axes.env applies to local engines");
    }
    for (int i = 0; i < a.batchSizes().size(); i++) {
      if (a.batchSizes().get(i) > p.maxBatch()) {
        throw f.error(
            "axes.batch.sizes[" + i + "]",
            "("
                + a.batchSizes().get(i)
                + ") is more rows than "
                + k
                + " runs in one batch; allowed: [1, "
                + p.maxBatch()
                + "]");
      }
    }
  }

  /**
   * Refuses an engine axis whose grid leaves a point with no engine that runs it, or an engine with
   * no point it can run.
   */
  static void check(SpecAxes axes, SpecFields f) {
    ExperimentSpec probe =
        new ExperimentSpec(
            "probe",
            ExperimentSpec.BUNDLED,
            axes.engines().get(0).spec(),
            List.of(),
            null,
            axes,
            null,
            null,
            null,
            null);
    Map<String, List<String>> whyNot = new LinkedHashMap<>();
    Map<String, Integer> runs = new LinkedHashMap<>();
    for (ExperimentSpec.NamedEngine e : axes.engines()) {
      runs.put(e.name(), 0);
    }
    for (Point p : probe.points()) {
      String why = refusal(axes.engine(p.engine()).spec(), p);
      Point bare = p.withEngine(null);
      List<String> reasons = whyNot.computeIfAbsent(bare.key(), x -> new ArrayList<>());
      if (why == null) {
        runs.merge(p.engine(), 1, Integer::sum);
        reasons.add(null);
      } else {
        reasons.add(p.engine() + ": " + why);
      }
    }
    for (Map.Entry<String, List<String>> e : whyNot.entrySet()) {
      if (e.getValue().stream().allMatch(r -> r != null)) {
        throw f.error(
            "axes.engine",
            "no engine of the axis runs the point "
                + e.getKey()
                + " ("
                + String.join("; ", e.getValue())
                + "); remove that value from the axes");
      }
    }
    for (Map.Entry<String, Integer> e : runs.entrySet()) {
      if (e.getValue() == 0) {
        throw f.error(
            "axes.engine." + e.getKey(), "runs none of the grid's points; remove it or the values");
      }
    }
  }
}
