package io.tokendrift.cli;

import picocli.CommandLine.IVersionProvider;

/** The version written into the jar's manifest by the build. */
final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = Main.class.getPackage().getImplementationVersion();
    return new String[] {"tokendrift " + (v == null ? "(development build)" : v)};
  }
}
