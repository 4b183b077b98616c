package io.tokendrift.spec;

import io.tokendrift.decode.DrawMethod;
import java.util.List;

/**
 * Every default of the spec format in one place: what a spec that leaves a key out gets. The
 * readers take their defaults from here, and the format's documentation ({@code
 * experiments/README.md}) states the same values. A remote engine's option defaults are the
 * engine's own ({@link io.tokendrift.engine.EngineProvider#remoteSettings}).
 */
public final class Defaults {
  private Defaults() {}

  /** {@code model}: the bundled tiny model. */
  public static final String MODEL = ExperimentSpec.BUNDLED;

  /** The model id a server started for {@code base_url: local} answers with. */
  public static final String LOCAL_SERVE_MODEL = "tokendrift-tiny";

  /** {@code decoding.temperature}: greedy. */
  public static final double TEMPERATURE = 0.0;

  /** {@code decoding.top_k}: off. */
  public static final int TOP_K = 0;

  /** {@code decoding.top_p}: off. */
  public static final double TOP_P = 1.0;

  /** {@code decoding.method}. */
  public static final DrawMethod METHOD = DrawMethod.INVERSE_CDF;

  /** {@code decoding.max_tokens}. */
  public static final int MAX_TOKENS = 32;

  /** {@code decoding.timeout_seconds}: none. */
  public static final double TIMEOUT_SECONDS = 0.0;

  /** {@code axes.batch.positions}. */
  public static final String BATCH_POSITION = "first";

  /** {@code axes.threads}: the library's default. */
  public static final int THREADS = 0;

  /** {@code axes.repeats}. */
  public static final int REPEATS = 1;

  /** {@code record.top_k}: logits kept per step. */
  public static final int RECORD_TOP_K = 16;

  /** {@code axes.concurrency} of a provider spec. */
  public static final List<Integer> CONCURRENCY = List.of(1);

  /** {@code axes.seed} of a provider spec. */
  public static final List<String> SEED_SENT = List.of("sent");

  /** Most runs a spec may ask for: beyond it the grid alone would not fit in memory. */
  public static final long MAX_RUNS = 1_000_000;
}
