package io.tokendrift.check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The check's verdict as JUnit XML (one test case per prompt × point) and as Markdown. */
public final class CheckOutputs {
  private CheckOutputs() {}

  public static String junitXml(Check.Result r) {
    Map<String, List<Check.RunVerdict>> cases = new LinkedHashMap<>();
    for (Check.RunVerdict v : r.runs()) {
      cases.computeIfAbsent(v.promptId() + "\u0000" + v.point(), k -> new ArrayList<>()).add(v);
    }
    long failures =
        cases.values().stream().filter(l -> l.stream().anyMatch(v -> !v.pass())).count();
    StringBuilder b = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    b.append(
        String.format(
            Locale.ROOT,
            "<testsuite name=\"tokendrift.%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"0\">%n",
            xml(r.experiment()),
            cases.size(),
            failures));
    b.append("  <properties>\n");
    for (Map.Entry<String, String[]> e : r.manifestChanges().entrySet()) {
      b.append("    <property name=\"changed.")
          .append(xml(e.getKey()))
          .append("\" value=\"")
          .append(xml(e.getValue()[0] + " -> " + e.getValue()[1]))
          .append("\"/>\n");
    }
    r.machineNote()
        .ifPresent(
            n ->
                b.append("    <property name=\"machine.note\" value=\"")
                    .append(xml(n))
                    .append("\"/>\n"));
    b.append("  </properties>\n");
    for (List<Check.RunVerdict> l : cases.values()) {
      Check.RunVerdict first = l.get(0);
      b.append("  <testcase classname=\"")
          .append(xml(first.point()))
          .append("\" name=\"")
          .append(xml(first.promptId()))
          .append("\">");
      List<Check.RunVerdict> bad = l.stream().filter(v -> !v.pass()).toList();
      if (!bad.isEmpty()) {
        b.append("\n    <failure message=\"")
            .append(xml(bad.get(0).message()))
            .append("\" type=\"")
            .append(xml(bad.get(0).verdict().label()))
            .append("\">");
        for (Check.RunVerdict v : bad) {
          b.append(xml(v.message())).append('\n');
        }
        b.append("</failure>\n  ");
      } else {
        String explained =
            l.stream()
                .filter(v -> v.verdict() == Check.Verdict.EXPLAINED)
                .map(Check.RunVerdict::message)
                .reduce((x, y) -> x + "\n" + y)
                .orElse("");
        if (!explained.isEmpty()) {
          b.append("<system-out>").append(xml(explained)).append("</system-out>");
        }
      }
      b.append("</testcase>\n");
    }
    return b.append("</testsuite>\n").toString();
  }

  public static String markdown(Check.Result r) {
    StringBuilder b = new StringBuilder();
    b.append("# tokendrift check: ")
        .append(r.pass() ? "✅ pass" : "❌ changed")
        .append("\n\n")
        .append(r.summary().replace("|", "\\|"))
        .append("\n\n| verdict | runs |\n|---|---:|\n");
    for (Check.Verdict v : Check.Verdict.values()) {
      b.append("| ").append(v.label()).append(" | ").append(r.count(v)).append(" |\n");
    }
    b.append(
        String.format(
            Locale.ROOT,
            "%nNoise floor %.3g nats; divergences at margins up to twice it are explained; drift"
                + " tolerance %.3g; budget %d explained divergences.%n",
            r.floor(),
            r.tolerance(),
            r.budget()));
    if (!r.manifestChanges().isEmpty()) {
      b.append(
          "\n## Environment changes (like a system_fingerprint)\n\n| key | baseline | now |\n");
      b.append("|---|---|---|\n");
      r.manifestChanges()
          .forEach(
              (k, v) ->
                  b.append("| `")
                      .append(k)
                      .append("` | ")
                      .append(cell(v[0]))
                      .append(" | ")
                      .append(cell(v[1]))
                      .append(" |\n"));
      r.machineNote().ifPresent(n -> b.append("\n").append(cell(n)).append("\n"));
    }
    List<Check.RunVerdict> shown = new ArrayList<>(r.failures());
    r.runs().stream()
        .filter(v -> v.pass() && v.verdict() == Check.Verdict.EXPLAINED)
        .forEach(shown::add);
    if (!shown.isEmpty()) {
      b.append("\n## Runs\n\n");
      int n = 0;
      for (Check.RunVerdict v : shown) {
        if (++n > 50) {
          b.append("- … and ").append(shown.size() - 50).append(" more\n");
          break;
        }
        b.append("- ").append(cell(v.message())).append('\n');
      }
    }
    return b.toString();
  }

  private static String cell(String s) {
    return s == null ? "(none)" : s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;");
  }

  static String xml(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&apos;");
        default -> {
          if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
            b.append(' ');
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }
}
