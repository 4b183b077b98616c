package io.tokendrift.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keeps the package arrows of {@code docs/architecture.md} true over the compiled main classes:
 * each package may import only the packages listed for it, no two packages point at each other, and
 * only the DJL engine and the tiny model's trainer touch DJL's NDArray API.
 */
class ArchitectureTest {
  private static final String ROOT = "io.tokendrift";

  /**
   * Package → the packages of ours it may import (besides itself). One line per package: the table
   * of docs/architecture.md.
   */
  static final Map<String, List<String>> ALLOWED = new LinkedHashMap<>();

  static {
    ALLOWED.put("decode", List.of());
    ALLOWED.put("model", List.of());
    ALLOWED.put("trace", List.of());
    ALLOWED.put("engine", List.of("decode", "model"));
    ALLOWED.put("engine.djl", List.of("engine", "decode", "model"));
    ALLOWED.put("engine.openai", List.of("engine", "model"));
    ALLOWED.put("engine.torch", List.of("engine", "model"));
    ALLOWED.put("spec", List.of("engine", "decode", "model", "trace"));
    ALLOWED.put("experiment", List.of("spec", "engine", "decode", "model", "trace", "serve"));
    ALLOWED.put("analysis", List.of("trace"));
    ALLOWED.put("report", List.of("analysis", "trace"));
    ALLOWED.put("check", List.of("report", "analysis", "trace"));
    ALLOWED.put("tiny", List.of("engine", "engine.djl", "decode", "model"));
    ALLOWED.put("serve", List.of("engine", "decode", "model"));
    ALLOWED.put(
        "junit",
        List.of(
            "check",
            "report",
            "analysis",
            "experiment",
            "spec",
            "engine",
            "model",
            "trace",
            "decode"));
  }

  private static JavaClasses main;

  @BeforeAll
  static void importMain() {
    main =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(ROOT);
  }

  /** Every package of ours that is not in {@link #ALLOWED} (nor the package itself). */
  static ArchRule onlyAllowedImports(String root, String pkg, List<String> allowed) {
    List<String> forbidden = new ArrayList<>();
    for (String other : packagesOf(root)) {
      if (!other.equals(pkg) && !allowed.contains(other)) {
        forbidden.add(root + "." + other + (other.equals("engine") ? "" : ".."));
      }
    }
    if (pkg.equals("engine")) {
      // engine's own sub-packages are engines: the contract never imports an implementation.
      forbidden.add(root + ".engine.djl..");
      forbidden.add(root + ".engine.openai..");
      forbidden.add(root + ".engine.torch..");
    }
    return noClasses()
        .that()
        .resideInAPackage(root + "." + pkg + (pkg.equals("engine") ? "" : ".."))
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(forbidden.toArray(String[]::new))
        .because(pkg + " may import only " + (allowed.isEmpty() ? "itself" : allowed));
  }

  private static List<String> packagesOf(String root) {
    List<String> all = new ArrayList<>(ALLOWED.keySet());
    all.add("cli");
    all.removeIf(p -> p.startsWith("engine.") && !root.equals(ROOT));
    return all;
  }

  @Test
  void everyPackageImportsOnlyWhatItsRowAllows() {
    List<String> failures = new ArrayList<>();
    for (var e : ALLOWED.entrySet()) {
      EvaluationResult r = onlyAllowedImports(ROOT, e.getKey(), e.getValue()).evaluate(main);
      if (r.hasViolation()) {
        failures.addAll(r.getFailureReport().getDetails());
      }
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void packagesFormNoCycles() {
    slices().matching(ROOT + ".(**)").should().beFreeOfCycles().check(main);
  }

  @Test
  void onlyTheDjlEngineAndTheTrainerUseDjlsTensorApi() {
    noClasses()
        .that()
        .resideOutsideOfPackages(ROOT + ".engine.djl..", ROOT + ".tiny..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "ai.djl.ndarray..", "ai.djl.engine..", "ai.djl.pytorch..", "ai.djl.training..")
        .because("engines are chosen through io.tokendrift.engine.Engines, never constructed")
        .check(main);
  }

  @Test
  void nothingButTheCliConstructsTheDjlEngine() {
    noClasses()
        .that()
        .resideOutsideOfPackages(ROOT + ".engine.djl..", ROOT + ".tiny..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage(ROOT + ".engine.djl..")
        .because("callers ask the engine factory (Engines), never a class")
        .check(main);
  }

  @Test
  void theRulesCatchAForbiddenArrow() {
    // Negative control: archfixture.model imports archfixture.engine, which the model row forbids.
    String fixture = "io.tokendrift.archfixture";
    JavaClasses classes = new ClassFileImporter().importPackages(fixture);
    EvaluationResult r =
        onlyAllowedImports(fixture, "model", ALLOWED.get("model")).evaluate(classes);
    assertThat(r.hasViolation()).isTrue();
    assertThat(String.join("\n", r.getFailureReport().getDetails()))
        .contains("FixtureModel")
        .contains("FixtureEngine");
  }
}
