package io.tokendrift.engine;

/**
 * The engine-side axes of an experiment: every knob here changes how logits are computed and is
 * recorded with each run.
 *
 * @param device where the forward pass runs
 * @param precision weights and activations format
 * @param summation contraction order of the linear layers
 * @param threads intra-op threads, 0 for the library's default
 * @param batchInvariant when true, a row's logits do not depend on the rest of its batch
 */
public record EngineOptions(
    DeviceSpec device,
    Precision precision,
    SummationOrder summation,
    int threads,
    boolean batchInvariant) {

  /** CPU, fp32, native summation, default threads, default batching. */
  public static final EngineOptions DEFAULTS =
      new EngineOptions(DeviceSpec.CPU, Precision.FP32, SummationOrder.NATIVE, 0, false);

  public EngineOptions {
    if (device == null || precision == null || summation == null) {
      throw new IllegalArgumentException(
          "engine options: device, precision and summation are required");
    }
    if (threads < 0) {
      throw new IllegalArgumentException(
          "threads (" + threads + ") must be >= 0 (0 means the default)");
    }
  }

  public EngineOptions withSummation(SummationOrder s) {
    return new EngineOptions(device, precision, s, threads, batchInvariant);
  }

  public EngineOptions withBatchInvariant(boolean b) {
    return new EngineOptions(device, precision, summation, threads, b);
  }

  public EngineOptions withPrecision(Precision p) {
    return new EngineOptions(device, p, summation, threads, batchInvariant);
  }

  public EngineOptions withThreads(int t) {
    return new EngineOptions(device, precision, summation, t, batchInvariant);
  }

  public EngineOptions withDevice(DeviceSpec d) {
    return new EngineOptions(d, precision, summation, threads, batchInvariant);
  }
}
