package io.tokendrift.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code --help} with options grouped under headings, the same headings in every command: what the
 * command itself takes first, then the engine, sampling, output, run control and general options.
 * Grouping is by option name, so a command needs no change to its fields; an option no group names
 * stays in the command's own list.
 */
final class HelpLayout {
  private HelpLayout() {}

  /** Heading → the option names it holds, in the order the sections print. */
  static final Map<String, List<String>> GROUPS = new LinkedHashMap<>();

  static {
    GROUPS.put(
        "Engine",
        List.of(
            "--model",
            "--engine",
            "--engine-option",
            "--device",
            "--precision",
            "--summation",
            "--threads",
            "--batch-invariant",
            "--batch-size",
            "--batch-position"));
    GROUPS.put(
        "Sampling",
        List.of(
            "--temperature",
            "--temperatures",
            "--top-k",
            "--top-p",
            "--method",
            "--seed",
            "--max-tokens",
            "--stop",
            "--timeout"));
    GROUPS.put(
        "Output",
        List.of(
            "--out",
            "--trace",
            "--json",
            "--steps",
            "--format",
            "--markdown",
            "--junit",
            "--no-analyze",
            "--force"));
    GROUPS.put("Run control", List.of("--dry-run", "--resume", "--shard", "--fail-fast", "--yes"));
    GROUPS.put("General", List.of("--verbose", "--help", "--version"));
  }

  /** Installs the grouped option list on {@code cl} and every subcommand. */
  static void install(CommandLine cl) {
    cl.getHelpSectionMap()
        .put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_OPTION_LIST, HelpLayout::render);
    for (CommandLine sub : cl.getSubcommands().values()) {
      install(sub);
    }
  }

  static String render(Help help) {
    List<OptionSpec> all = new ArrayList<>(help.commandSpec().options());
    all.removeIf(OptionSpec::hidden);
    // By name, as picocli sorts, but repeatable options in place rather than last.
    all.sort(
        java.util.Comparator.comparing(
            (OptionSpec o) ->
                o.shortestName().replaceFirst("^-+", "").toLowerCase(java.util.Locale.ROOT)));
    Map<String, List<OptionSpec>> sections = new LinkedHashMap<>();
    sections.put("Options", new ArrayList<>());
    GROUPS.keySet().forEach(k -> sections.put(k, new ArrayList<>()));
    for (OptionSpec o : all) {
      sections.get(heading(o)).add(o);
    }
    boolean grouped = sections.entrySet().stream().filter(e -> !e.getValue().isEmpty()).count() > 2;
    StringBuilder b = new StringBuilder();
    for (Map.Entry<String, List<OptionSpec>> e : sections.entrySet()) {
      if (e.getValue().isEmpty()) {
        continue;
      }
      Help.Layout layout = help.createDefaultLayout();
      for (OptionSpec o : e.getValue()) {
        layout.addOption(o, help.createDefaultParamLabelRenderer());
      }
      if (grouped || !e.getKey().equals("Options")) {
        b.append("\n").append(e.getKey()).append(":\n");
      }
      b.append(layout);
    }
    return b.toString();
  }

  private static String heading(OptionSpec o) {
    for (Map.Entry<String, List<String>> g : GROUPS.entrySet()) {
      for (String n : o.names()) {
        if (g.getValue().contains(n)) {
          return g.getKey();
        }
      }
    }
    return "Options";
  }
}
