package io.tokendrift.analysis;

import io.tokendrift.analysis.Analyzer.RunResult;
import io.tokendrift.trace.PointKey;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The axes of an experiment, taken from its points as the trace records them: the reference's axes
 * in their recorded order, then any axis only other points have. No axis name is built in.
 *
 * @param reference the reference point
 * @param names every axis, in order
 */
record Axes(PointKey reference, List<String> names) {
  Axes {
    names = List.copyOf(names);
  }

  static Axes of(PointKey reference, List<RunResult> runs) {
    Set<String> names = new LinkedHashSet<>(reference.values().keySet());
    for (RunResult r : runs) {
      names.addAll(r.point().values().keySet());
    }
    return new Axes(reference, new ArrayList<>(names));
  }

  /** A point's value of an axis ("" where the point lacks it). */
  static String value(PointKey p, String axis) {
    return p.values().getOrDefault(axis, "");
  }

  /** The axes where the run differs from the reference ("repeat" for the reference's repeats). */
  List<String> differing(RunResult r) {
    List<String> out = new ArrayList<>();
    Map<String, String> a = r.point().values();
    Map<String, String> b = reference.values();
    for (String axis : names) {
      if (!Objects.equals(a.get(axis), b.get(axis))) {
        out.add(axis);
      }
    }
    if (out.isEmpty() && r.repeat() > 0) {
      out.add("repeat");
    }
    return out;
  }
}
