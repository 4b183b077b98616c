package io.tokendrift.experiment;

import io.tokendrift.engine.Axis;
import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import io.tokendrift.engine.Precision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which points of an engine-axis grid each engine can run. The grid is the product of every axis,
 * so it holds combinations one engine cannot compute (bf16 on DJL, a split-K order on torch): those
 * runs are recorded as skipped, with this reason, as a GPU point on a machine without one is when
 * the device axis is optional. A value no engine of the axis can run, and an engine that runs none
 * of the grid, are spec errors.
 */
final class EngineFit {
  private EngineFit() {}

  /** Why {@code engine} cannot run point {@code p}, or null when it can. */
  static String refusal(EngineSpec engine, Point p) {
    EngineProvider provider = Engines.provider(engine.kind());
    var can = provider.axes(engine);
    String k = "engine '" + engine.kind() + "'";
    if (!p.device().equals(DeviceSpec.CPU) && !can.contains(Axis.DEVICE)) {
      return k + " runs on the CPU only, not " + p.device();
    }
    if (p.batchSize() > provider.maxBatch()) {
      return k + " runs at most " + provider.maxBatch() + " rows in one batch";
    }
    if (p.batchSize() != 1 && !can.contains(Axis.BATCH_SIZE)) {
      return k + " cannot vary the batch size";
    }
    if (p.batchPosition() != 0 && !can.contains(Axis.BATCH_POSITION)) {
      return k + " cannot vary the batch position";
    }
    if (!p.summation().isNative() && !can.contains(Axis.SUMMATION)) {
      return k + " runs its library's own summation order, not " + p.summation();
    }
    if (!provider.precisions().contains(p.precision())
        || (p.precision() != Precision.FP32 && !can.contains(Axis.PRECISION))) {
      return k
          + " does not compute in "
          + p.precision().label()
          + (engine.kind().equals("djl") && p.precision() == Precision.BF16
              ? " (bf16 aborts DJL 0.36's JVM)"
              : "");
    }
    if (p.threads() != 0 && !can.contains(Axis.THREADS)) {
      return k + " cannot set the thread count";
    }
    if (p.batchInvariant() && !can.contains(Axis.BATCH_INVARIANT)) {
      return k + " has no batch-invariant mode";
    }
    if (Boolean.FALSE.equals(p.kvCache()) && !can.contains(Axis.KV_CACHE)) {
      return k + " cannot turn its KV cache off";
    }
    return null;
  }

  /** Why the batch's engine (of an engine axis) cannot run it, or null. */
  static String refusal(ExperimentSpec spec, Plan.Batch b) {
    if (b.engine() == null) {
      return null;
    }
    for (Plan.Run r : b.runs().values()) {
      String why = EngineFit.refusal(spec.axes().engine(b.engine()).spec(), r.point());
      if (why != null) {
        return why;
      }
    }
    return null;
  }

  /**
   * Refuses an engine axis whose grid leaves a point with no engine that runs it, or an engine with
   * no point it can run.
   */
  static void check(ExperimentSpec.Axes axes, SpecFields f) {
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
            null);
    Map<String, List<String>> whyNot = new LinkedHashMap<>();
    Map<String, Integer> runs = new LinkedHashMap<>();
    for (ExperimentSpec.NamedEngine e : axes.engines()) {
      runs.put(e.name(), 0);
    }
    for (Point p : probe.points()) {
      String why = refusal(axes.engine(p.engine()).spec(), p);
      Point bare =
          new Point(
              p.device(),
              p.batchSize(),
              p.batchPosition(),
              p.summation(),
              p.precision(),
              p.threads(),
              p.batchInvariant(),
              p.kvCache(),
              p.env());
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
