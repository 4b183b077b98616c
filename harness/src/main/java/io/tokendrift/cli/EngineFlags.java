package io.tokendrift.cli;

import io.tokendrift.engine.Axis;
import io.tokendrift.engine.EngineOptions;
import io.tokendrift.engine.EngineProvider;
import io.tokendrift.engine.EngineSpec;
import io.tokendrift.engine.Engines;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Option;

/**
 * The engine flags shared by {@code generate} and {@code bench}: which engine, with what options.
 */
final class EngineFlags {
  @Option(
      names = "--engine",
      defaultValue = "djl",
      paramLabel = "KIND",
      description = "Engine that computes the logits (default: djl, the built-in GPT-2 on DJL).")
  String kind;

  @Option(
      names = "--engine-option",
      paramLabel = "KEY=VALUE",
      description = "An option of the engine (repeatable); the engine says which it takes.")
  List<String> options = List.of();

  /**
   * The engine spec these flags name.
   *
   * @throws UserInputException naming the flag and what is allowed
   */
  EngineSpec spec() {
    Map<String, String> opts = new TreeMap<>();
    for (String o : options) {
      int eq = o.indexOf('=');
      if (eq <= 0) {
        throw new UserInputException("--engine-option '" + o + "' is not KEY=VALUE");
      }
      opts.put(o.substring(0, eq), o.substring(eq + 1));
    }
    try {
      EngineSpec spec = new EngineSpec(kind, opts);
      Engines.check(spec);
      return spec;
    } catch (IllegalArgumentException e) {
      throw new UserInputException("--engine: " + e.getMessage());
    }
  }

  /**
   * Refuses a flag that asks the engine to vary what it cannot (left at its default, a knob is
   * fine).
   */
  void refuseUnsupported(EngineOptions o, int batchSize, int batchPosition) {
    EngineProvider p = Engines.provider(spec().kind());
    EngineOptions d = EngineOptions.DEFAULTS;
    Map<Axis, String> asked = new EnumMap<>(Axis.class);
    asked.put(Axis.DEVICE, o.device().equals(d.device()) ? null : "--device");
    asked.put(Axis.PRECISION, o.precision() == d.precision() ? null : "--precision");
    asked.put(Axis.SUMMATION, o.summation().equals(d.summation()) ? null : "--summation");
    asked.put(Axis.THREADS, o.threads() == d.threads() ? null : "--threads");
    asked.put(Axis.BATCH_INVARIANT, o.batchInvariant() ? "--batch-invariant" : null);
    asked.put(Axis.BATCH_SIZE, batchSize == 1 ? null : "--batch-size");
    asked.put(Axis.BATCH_POSITION, batchPosition == 0 ? null : "--batch-position");
    asked.forEach(
        (axis, flag) -> {
          if (flag != null && !p.axes().contains(axis)) {
            throw new UserInputException(
                flag + ": engine '" + p.kind() + "' cannot vary " + axis.label());
          }
        });
    if (batchSize > p.maxBatch()) {
      throw new UserInputException(
          "--batch-size ("
              + batchSize
              + ") is more rows than engine '"
              + p.kind()
              + "' runs in one batch; allowed: [1, "
              + p.maxBatch()
              + "]");
    }
  }
}
