package io.tokendrift.archfixture.model;

import io.tokendrift.archfixture.engine.FixtureEngine;

/**
 * The architecture test's negative control: a "model" class that imports an "engine", the very
 * arrow the rules forbid. The rules must report it.
 */
public final class FixtureModel {
  public static int rows() {
    return FixtureEngine.rows();
  }
}
