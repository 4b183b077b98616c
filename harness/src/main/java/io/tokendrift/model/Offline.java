package io.tokendrift.model;

/**
 * Keeps DJL from calling home: its start-up telemetry reaches for the cloud metadata address
 * (169.254.169.254) and would report a cloud VM's instance to DJL's servers, and online mode lets
 * it download native libraries. A harness that measures a model must not do either unasked, whether
 * it runs from our launcher or from a user's own test build, so every entry point (the tokenizer,
 * the DJL engine, the JUnit extension) sets DJL offline and opts out of tracking before DJL first
 * loads — unless the user has set the property already (e.g. {@code -Dai.djl.offline=false} for the
 * GPU build's one-time native download).
 */
public final class Offline {
  /** DJL's offline switch: no downloads, no telemetry. */
  public static final String OFFLINE = "ai.djl.offline";

  /** DJL's documented tracking opt-out (a system property or environment variable). */
  public static final String OPT_OUT = "OPT_OUT_TRACKING";

  private Offline() {}

  /** Sets both properties to true where the user has not set them. */
  public static void ensure() {
    if (System.getProperty(OFFLINE) == null) {
      System.setProperty(OFFLINE, "true");
    }
    if (System.getProperty(OPT_OUT) == null) {
      System.setProperty(OPT_OUT, "true");
    }
  }
}
