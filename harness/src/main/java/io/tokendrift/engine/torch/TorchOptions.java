package io.tokendrift.engine.torch;

import io.tokendrift.engine.DeviceSpec;
import io.tokendrift.engine.EngineSpec;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The {@code torch} engine's options, checked.
 *
 * @param python the interpreter that runs the worker (default {@code python3})
 * @param device where the worker computes when the spec's device axis says cpu: {@code cpu}, or
 *     {@code cuda}/{@code cuda:N} (the device axis's {@code gpu:N} always means {@code cuda:N})
 * @param tf32 TF32 tensor-core matmuls on CUDA
 * @param deterministic {@code torch.use_deterministic_algorithms(True)}
 * @param attention {@code math} (written out: scores, float32 softmax, weighted sum), or torch 2's
 *     {@code default}, {@code efficient} or {@code flash} scaled-dot-product kernels
 * @param cublasWorkspaceConfig {@code CUBLAS_WORKSPACE_CONFIG} for the worker (empty: not set)
 * @param timeoutSeconds the most one request may take before the worker is stopped
 */
record TorchOptions(
    String python,
    String device,
    boolean tf32,
    boolean deterministic,
    String attention,
    String cublasWorkspaceConfig,
    double timeoutSeconds) {

  static final Set<String> KEYS =
      Set.of(
          "python",
          "device",
          "tf32",
          "deterministic",
          "attention",
          "cublas_workspace_config",
          "timeout_seconds");

  static TorchOptions of(EngineSpec spec) {
    Map<String, String> o = spec.options();
    String device = o.getOrDefault("device", "cpu");
    if (!device.matches("cpu|cuda|cuda:[0-9]{1,2}")) {
      throw new IllegalArgumentException(
          "engine.device '" + device + "' is not known; allowed: cpu, cuda, cuda:N");
    }
    String attention = o.getOrDefault("attention", "math");
    if (!Set.of("math", "default", "efficient", "flash").contains(attention)) {
      throw new IllegalArgumentException(
          "engine.attention '"
              + attention
              + "' is not known; allowed: math, default, efficient,"
              + " flash");
    }
    String cublas = o.getOrDefault("cublas_workspace_config", "");
    if (!cublas.isEmpty() && !cublas.matches("(:[0-9]+:[0-9]+)+")) {
      throw new IllegalArgumentException(
          "engine.cublas_workspace_config '" + cublas + "' is not of the form :4096:8 or :16:8");
    }
    double timeout;
    try {
      timeout = Double.parseDouble(o.getOrDefault("timeout_seconds", "300"));
    } catch (NumberFormatException e) {
      timeout = -1;
    }
    if (!(timeout > 0) || timeout > 86_400) {
      throw new IllegalArgumentException(
          "engine.timeout_seconds '"
              + o.get("timeout_seconds")
              + "' must be a number in (0, 86400]");
    }
    String python = o.getOrDefault("python", "python3");
    if (python.isBlank() || python.chars().anyMatch(c -> c < 0x20)) {
      throw new IllegalArgumentException("engine.python must name an interpreter");
    }
    return new TorchOptions(
        python,
        device,
        onOff(o.getOrDefault("tf32", "off"), "tf32"),
        onOff(o.getOrDefault("deterministic", "off"), "deterministic"),
        attention,
        cublas,
        timeout);
  }

  private static boolean onOff(String v, String key) {
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "on", "true" -> true;
      case "off", "false" -> false;
      default ->
          throw new IllegalArgumentException(
              "engine." + key + " '" + v + "' is not known; allowed: on, off");
    };
  }

  /** The torch device of a point: gpu:N is cuda:N; cpu is the engine's own device option. */
  String deviceFor(DeviceSpec d) {
    return d.gpu() ? "cuda:" + d.index() : device;
  }

  /** The worker's environment additions. */
  Map<String, String> env() {
    Map<String, String> m = new TreeMap<>();
    if (!cublasWorkspaceConfig.isEmpty()) {
      m.put("CUBLAS_WORKSPACE_CONFIG", cublasWorkspaceConfig);
    }
    return m;
  }
}
