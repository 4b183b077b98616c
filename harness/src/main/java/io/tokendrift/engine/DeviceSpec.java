package io.tokendrift.engine;

/**
 * Where an engine runs: the CPU or GPU number {@code index}.
 *
 * @param gpu true for a GPU
 * @param index GPU number (0 for the CPU)
 */
public record DeviceSpec(boolean gpu, int index) {
  public static final DeviceSpec CPU = new DeviceSpec(false, 0);

  /** Parses {@code cpu}, {@code gpu} or {@code gpu:N}. */
  public static DeviceSpec parse(String s) {
    String v = s.trim();
    if (v.equals("cpu")) {
      return CPU;
    }
    if (v.equals("gpu")) {
      return new DeviceSpec(true, 0);
    }
    if (v.startsWith("gpu:")) {
      try {
        int n = Integer.parseInt(v.substring(4));
        if (n >= 0) {
          return new DeviceSpec(true, n);
        }
      } catch (NumberFormatException e) {
        // fall through to the message below
      }
    }
    throw new IllegalArgumentException("device '" + s + "' is not known; allowed: cpu, gpu, gpu:N");
  }

  @Override
  public String toString() {
    return gpu ? "gpu:" + index : "cpu";
  }
}
