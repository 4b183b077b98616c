package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a spec's {@code axes.env} and owns the one rule of which process variables the env axis may
 * set (and the forked child and the manifest record): those the math and threading libraries read
 * when a process starts.
 */
public final class EnvReader {
  private EnvReader() {}

  /** Variables a process environment may set: the math and threading libraries' own. */
  static final List<String> ENV_PREFIXES =
      List.of("MKL_", "OMP_", "KMP_", "OPENBLAS_", "GOMP_", "DNNL_", "ONEDNN_");

  /**
   * Single variables a process environment may set besides the prefixes: libtorch's kernel choice
   * ({@code ATEN_CPU_CAPABILITY}, read once when libtorch loads: the vectorised ATen kernels for
   * softmax, GELU, layer norm, reductions are compiled per instruction set).
   */
  static final List<String> ENV_NAMES = List.of("ATEN_CPU_CAPABILITY");

  /**
   * The values libtorch accepts for ATEN_CPU_CAPABILITY (aten/src/ATen/native/DispatchStub.cpp);
   * any other is ignored by libtorch with only a warning, so it is refused here.
   */
  static final List<String> ATEN_CAPABILITIES =
      List.of("default", "avx2", "avx512", "sve256", "vsx", "zvector");

  private static final java.util.regex.Pattern VAR_NAME =
      java.util.regex.Pattern.compile("[A-Z][A-Z0-9_]*");

  /** Whether the env axis may set {@code var}: a math or threading library reads it at load. */
  public static boolean settable(String var) {
    return ENV_NAMES.contains(var) || ENV_PREFIXES.stream().anyMatch(var::startsWith);
  }

  /** {@code env: {NAME: {VAR: value, ...}, ...}}: named process environments; empty when absent. */
  static List<ExperimentSpec.ProcessEnv> read(SpecFields f, JsonNode n, String at) {
    if (n == null) {
      return List.of();
    }
    String form =
        "a mapping of names to variables, e.g. {auto: {MKL_CBWR: AUTO}, compatible: {MKL_CBWR:"
            + " COMPATIBLE}}";
    if (!n.isObject() || n.isEmpty()) {
      throw f.error(at, "must be " + form);
    }
    List<ExperimentSpec.ProcessEnv> out = new ArrayList<>();
    java.util.Set<java.util.Map<String, String>> seen = new java.util.HashSet<>();
    for (var it = n.fields(); it.hasNext(); ) {
      var e = it.next();
      String name = e.getKey();
      String el = at + "." + name;
      AxesReader.checkName(f, name, el);
      JsonNode vars = e.getValue();
      if (vars == null || !vars.isObject()) {
        throw f.error(el, "must be a mapping of variables to values, e.g. {MKL_CBWR: COMPATIBLE}");
      }
      java.util.SortedMap<String, String> m = new java.util.TreeMap<>();
      for (var vit = vars.fields(); vit.hasNext(); ) {
        var v = vit.next();
        String var = v.getKey();
        String vat = el + "." + var;
        if (!VAR_NAME.matcher(var).matches() || !settable(var)) {
          throw f.error(
              vat,
              "'"
                  + var
                  + "' may not be set here; allowed: "
                  + String.join(", ", ENV_NAMES)
                  + " and variables starting with "
                  + String.join(", ", ENV_PREFIXES)
                  + " (the math and threading libraries read them when a process starts)");
        }
        JsonNode val = v.getValue();
        if (val == null || !(val.isTextual() || val.isNumber() || val.isBoolean())) {
          throw f.error(vat, "must be a text or number value; got " + f.kind(val));
        }
        String text = val.asText();
        if (text.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
          throw f.error(vat, "must not contain control characters");
        }
        if (var.equals("ATEN_CPU_CAPABILITY") && !ATEN_CAPABILITIES.contains(text)) {
          throw f.error(
              vat,
              "'"
                  + text
                  + "' is not a value libtorch knows (it would ignore it); allowed: "
                  + String.join(", ", ATEN_CAPABILITIES)
                  + " (x86: default, avx2, avx512)");
        }
        m.put(var, text);
      }
      if (!seen.add(m)) {
        throw f.error(el, "sets the same variables as an earlier environment");
      }
      out.add(new ExperimentSpec.ProcessEnv(name, m));
    }
    return List.copyOf(out);
  }
}
