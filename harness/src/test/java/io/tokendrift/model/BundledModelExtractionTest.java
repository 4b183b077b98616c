package io.tokendrift.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundledModelExtractionTest {
  @Test
  void extractionIsIdempotentAndMatchesTheResources(@TempDir Path root) throws Exception {
    Path a = BundledModel.extract(root);
    Path b = BundledModel.extract(root);
    assertThat(a).isEqualTo(b);
    Path shipped = BundledModel.dir();
    for (String f : BundledModel.FILES) {
      assertThat(Files.readAllBytes(a.resolve(f)))
          .isEqualTo(Files.readAllBytes(shipped.resolve(f)));
    }
    try (var s = Files.list(a.getParent())) {
      assertThat(s.toList()).containsExactly(a); // no staging folder left behind
    }
  }
}
