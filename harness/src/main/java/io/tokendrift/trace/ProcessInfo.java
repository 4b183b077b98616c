package io.tokendrift.trace;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Which process ran a run of a spec that varies {@code axes.env}: a child process started with that
 * environment's variables, as the child itself saw them. Null on runs of this process.
 *
 * @param env the environment's name (also the point's {@code env} value)
 * @param pid the child's process id
 * @param vars the child's math and threading variables ({@code MKL_*}, {@code OMP_*}, ...) as it
 *     read them at start, sorted by name
 */
public record ProcessInfo(String env, long pid, SortedMap<String, String> vars) {
  public ProcessInfo {
    vars = Collections.unmodifiableSortedMap(new TreeMap<>(vars));
  }
}
