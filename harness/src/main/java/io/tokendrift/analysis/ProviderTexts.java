package io.tokendrift.analysis;

import io.tokendrift.trace.RunRecord;
import io.tokendrift.trace.Steps;
import io.tokendrift.trace.TraceReader;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Token texts from a provider's traces (their ids are hashes of the texts, so the texts must come
 * from the trace): for messages of {@code check} and the JUnit extension.
 */
public final class ProviderTexts {
  private ProviderTexts() {}

  /** Id → text over every ok run's chosen tokens and alternatives; "#id" for an unknown id. */
  public static IntFunction<String> of(Path... traces) {
    Map<Integer, String> m = new HashMap<>();
    for (Path p : traces) {
      try (TraceReader r = TraceReader.open(p)) {
        while (r.hasNext()) {
          RunRecord rec = r.next();
          Steps s = rec.steps();
          if (rec.status() != RunRecord.Status.OK || s == null || !s.hasTexts()) {
            continue;
          }
          for (int i = 0; i < s.size(); i++) {
            if (s.text(i) != null) {
              m.putIfAbsent(rec.tokens()[i], s.text(i));
            }
            for (int j = 0; j < s.k(); j++) {
              if (s.topText(i, j) != null) {
                m.putIfAbsent(s.topId(i, j), s.topText(i, j));
              }
            }
          }
        }
      }
    }
    return id -> m.getOrDefault(id, "#" + id);
  }
}
