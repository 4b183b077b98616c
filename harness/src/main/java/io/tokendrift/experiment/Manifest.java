package io.tokendrift.experiment;

import io.tokendrift.spec.EnvReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The environment a trace was recorded in, like a provider's {@code system_fingerprint}: what could
 * change outputs without any change to the prompt or settings.
 */
public final class Manifest {
  private Manifest() {}

  /**
   * Collects the manifest.
   *
   * @param engine an engine's own settings (library versions, threads)
   * @param model how the spec named the model
   * @param modelHash SHA-256 of the model's files
   * @param gpus how many GPUs the engine sees, as text
   */
  public static Map<String, String> collect(
      Map<String, String> engine, String model, String modelHash, String gpus) {
    Map<String, String> m = new TreeMap<>();
    m.put("java.version", System.getProperty("java.version"));
    m.put("java.vendor", System.getProperty("java.vendor"));
    m.put(
        "java.vm",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put("os.arch", System.getProperty("os.arch"));
    m.put("cpu.model", cpuModel());
    m.putAll(cpuFeatures());
    // What decides a math library's code path (and so the bits) before the process starts.
    System.getenv()
        .forEach(
            (k, v) -> {
              if (EnvReader.settable(k) || k.equals("LD_PRELOAD")) {
                m.put("env." + k, v);
              }
            });
    m.put("cpu.cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
    if ("true".equals(engine.get("remote"))) {
      // A provider's settings (base URL without credentials, model, API, limits): the model's
      // library and hardware are the provider's, and its responses' fingerprints say what it ran.
      engine.forEach((k, v) -> m.put(k, v));
    } else {
      m.put("engine", engine.getOrDefault("engine", "?"));
      if (engine.containsKey("model_type")) {
        m.put("model.type", engine.get("model_type"));
      }
      if (engine.containsKey("torch.version")) {
        // The torch engine: the machine's own PyTorch, its CUDA/ROCm, the GPU and its driver.
        engine.forEach(
            (k, v) -> {
              if (k.startsWith("torch.") || k.startsWith("gpu.") || k.equals("python")) {
                m.put(k, v);
              }
            });
      } else {
        m.put("djl.version", engine.getOrDefault("djl.version", "?"));
        m.put("pytorch.version", engine.getOrDefault("pytorch.version", "?"));
      }
      m.put("pytorch.threads.default", engine.getOrDefault("threads", "?"));
      m.put("pytorch.interop_threads", engine.getOrDefault("interop_threads", "?"));
      m.put("gpus.visible", gpus);
      // An engine axis: every named engine's own settings, under its name.
      engine.forEach(
          (k, v) -> {
            if (k.startsWith("engines.")) {
              m.put(k, v);
            }
          });
    }
    for (String k : System.getProperties().stringPropertyNames()) {
      if (k.startsWith("ai.djl.")) {
        m.put("property." + k, System.getProperty(k));
      }
    }
    m.put("model", model);
    m.put("model.sha256", modelHash);
    String v = Manifest.class.getPackage().getImplementationVersion();
    m.put("tokendrift.version", v == null ? "development build" : v);
    m.put("tokendrift.commit", gitCommit());
    return m;
  }

  /**
   * The CPU's vendor and the vector extensions a math library may pick a kernel by (oneMKL and
   * PyTorch dispatch on them: the same binary gives other bits on another ISA).
   */
  static Map<String, String> cpuFeatures() {
    Map<String, String> m = new TreeMap<>();
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("vendor_id") && !m.containsKey("cpu.vendor")) {
          m.put("cpu.vendor", l.substring(l.indexOf(':') + 1).trim());
        }
        if (l.startsWith("flags") && !m.containsKey("cpu.isa")) {
          java.util.Set<String> flags =
              new java.util.HashSet<>(
                  java.util.Arrays.asList(l.substring(l.indexOf(':') + 1).trim().split("\\s+")));
          java.util.List<String> isa = new java.util.ArrayList<>();
          for (String f :
              new String[] {
                "sse4_2",
                "avx",
                "avx2",
                "fma",
                "f16c",
                "avx512f",
                "avx512bw",
                "avx512vl",
                "avx512_vnni",
                "avx512_bf16",
                "amx_tile"
              }) {
            if (flags.contains(f)) {
              isa.add(f);
            }
          }
          m.put("cpu.isa", String.join(",", isa));
        }
      }
    } catch (IOException | RuntimeException e) {
      m.put("cpu.isa", "unknown (" + e.getClass().getSimpleName() + ")");
    }
    return m;
  }

  static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) {
          return l.substring(l.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: fall back to the architecture
    }
    return System.getProperty("os.arch");
  }

  /** The checkout's commit (with "-dirty" when tracked files changed), or "unknown". */
  static String gitCommit() {
    try {
      Path jar =
          Path.of(Manifest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path dir = Files.isDirectory(jar) ? jar : jar.getParent();
      String head = git(dir, "rev-parse", "HEAD");
      if (head == null) {
        return "unknown";
      }
      String status = git(dir, "status", "--porcelain", "--untracked-files=no");
      return head + (status != null && !status.isEmpty() ? "-dirty" : "");
    } catch (Exception e) {
      return "unknown";
    }
  }

  private static String git(Path dir, String... args) throws IOException, InterruptedException {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "git";
    cmd[1] = "-C";
    cmd[2] = dir.toString();
    System.arraycopy(args, 0, cmd, 3, args.length);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (!p.waitFor(5, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return null;
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    return p.exitValue() == 0 ? out : null;
  }
}
