package io.tokendrift.archfixture.engine;

/** A class of the architecture test's negative control: something a model class may reach for. */
public final class FixtureEngine {
  public static int rows() {
    return 1;
  }
}
