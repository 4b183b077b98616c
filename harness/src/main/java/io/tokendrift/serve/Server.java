package io.tokendrift.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.tokendrift.decode.DecodeSettings;
import io.tokendrift.decode.Generation;
import io.tokendrift.decode.StopConditions;
import io.tokendrift.engine.Engine;
import io.tokendrift.model.ChatTemplate;
import io.tokendrift.model.ModelDir;
import io.tokendrift.model.TextTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code tokendrift serve}: an OpenAI-compatible HTTP server (Javalin on Jetty) over one engine,
 * with continuous batching by a {@link Scheduler}. Endpoints: {@code GET /health}, {@code GET
 * /v1/models}, {@code POST /v1/completions}, {@code POST /v1/chat/completions}.
 */
public final class Server implements AutoCloseable {
  /**
   * How to serve.
   *
   * @param modelId the name /v1/models lists and responses carry
   * @param maxBatch requests decoded together at most
   * @param queueLimit requests waiting at most (then 429)
   * @param maxBodyBytes largest request body (then 413)
   * @param apiKey the key clients must send as a bearer token, or null for none
   * @param batchInvariant each request decoded alone: its logits do not depend on the load
   * @param allowUnknownFields skip request fields it does not know instead of a 400 naming them
   */
  public record Options(
      String host,
      int port,
      String modelId,
      int maxBatch,
      int queueLimit,
      int maxBodyBytes,
      String apiKey,
      boolean batchInvariant,
      boolean allowUnknownFields) {}

  private final Options o;
  private final TextTokenizer tok;
  private final java.util.Set<Integer> eos;
  private final ChatTemplate template;
  private final Scheduler scheduler;
  private final String fingerprint;
  private final Javalin app;
  private final AtomicLong ids = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicInteger inFlight =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * Starts serving {@code engine} (which it then owns, with the tokenizer) on o.host():o.port().
   */
  public Server(Engine engine, ModelDir model, TextTokenizer tok, Options o) {
    this.o = o;
    this.tok = tok;
    this.eos = model.config().eosIds();
    this.template = ChatTemplate.of(model.dir());
    this.fingerprint = fingerprint(engine, model, o);
    this.scheduler = new Scheduler(engine, tok, o.maxBatch(), o.queueLimit());
    this.app =
        Javalin.create(
            c -> {
              c.jetty.host = o.host();
              c.jetty.port = o.port();
              c.http.maxRequestSize = o.maxBodyBytes() + 1L;
              c.startup.showJavalinBanner = false;
              // Jetty must not stop on SIGTERM by itself: the serve command drains first.
              c.jetty.modifyServer(server -> server.setStopAtShutdown(false));
              c.routes.get("/health", this::health);
              c.routes.get("/v1/models", ctx -> guarded(ctx, () -> models(ctx)));
              c.routes.post("/v1/completions", ctx -> guarded(ctx, () -> complete(ctx, false)));
              c.routes.post("/v1/chat/completions", ctx -> guarded(ctx, () -> complete(ctx, true)));
              c.routes.error(404, "*", this::notFound);
              // Javalin's own answers (an unknown endpoint, a wrong method, a body too
              // large) in OpenAI's error shape, as every other error here.
              c.routes.exception(
                  io.javalin.http.HttpResponseException.class,
                  (e, ctx) ->
                      send(
                          ctx,
                          new ApiException(
                              e.getStatus(),
                              "invalid_request_error",
                              null,
                              e.getStatus() == 404 ? "not_found" : null,
                              e.getStatus() == 404
                                  ? ctx.method() + " " + ctx.path() + " is not an endpoint here"
                                  : e.getMessage())));
            });
    try {
      app.start();
    } catch (io.javalin.util.JavalinBindException e) {
      scheduler.close();
      throw new io.tokendrift.engine.EnvironmentException(
          o.host()
              + ":"
              + o.port()
              + " is in use by another process; stop it, or choose another port with --port (0"
              + " picks a free one)");
    }
  }

  /** The port it listens on (useful with port 0). */
  public int port() {
    return app.port();
  }

  /** The fingerprint responses carry: a short hash of every setting that can change a bit. */
  public String fingerprint() {
    return fingerprint;
  }

  /** Stops taking requests (503), lets queued and running ones finish (up to the timeout). */
  public boolean drain(long millis) throws InterruptedException {
    scheduler.drain();
    long end = System.currentTimeMillis() + millis;
    // Requests being read or answered count too, not only those the scheduler holds.
    while (inFlight.get() > 0 && System.currentTimeMillis() < end) {
      Thread.sleep(20);
    }
    return inFlight.get() == 0
        && scheduler.awaitIdle(Math.max(0, end - System.currentTimeMillis()));
  }

  @Override
  public void close() {
    app.stop();
    scheduler.close();
  }

  static String fingerprint(Engine engine, ModelDir model, Options o) {
    TreeMap<String, String> all = new TreeMap<>(engine.settings());
    all.put("model.sha256", model.hash());
    all.put("serve.batch_invariant", Boolean.toString(o.batchInvariant()));
    all.put("serve.max_batch", Integer.toString(o.maxBatch()));
    try {
      byte[] h =
          MessageDigest.getInstance("SHA-256")
              .digest(all.toString().getBytes(StandardCharsets.UTF_8));
      return "fp_" + HexFormat.of().formatHex(h).substring(0, 12);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private interface Body {
    void run() throws Exception;
  }

  /** Authorises, runs, and turns failures into OpenAI-shaped errors. */
  private void guarded(Context ctx, Body body) {
    inFlight.incrementAndGet();
    try {
      authorise(ctx);
      body.run();
    } catch (ApiException e) {
      send(ctx, e);
    } catch (Exception e) {
      send(ctx, new ApiException(500, "server_error", null, null, "internal error: " + e));
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private void authorise(Context ctx) {
    if (o.apiKey() == null) {
      return;
    }
    String h = ctx.header("Authorization");
    String given = h != null && h.startsWith("Bearer ") ? h.substring(7) : "";
    // Constant time: how long the comparison takes says nothing about the key.
    if (!MessageDigest.isEqual(
        given.getBytes(StandardCharsets.UTF_8), o.apiKey().getBytes(StandardCharsets.UTF_8))) {
      throw new ApiException(
          401, "invalid_request_error", null, "invalid_api_key", "missing or wrong API key");
    }
  }

  private static void send(Context ctx, ApiException e) {
    ctx.status(e.status).contentType("application/json").result(Responses.error(e).toString());
  }

  /** Unknown paths; a 404 an endpoint already answered (an unknown model) keeps its body. */
  private void notFound(Context ctx) {
    String body = ctx.result();
    if (body != null && !body.isEmpty()) {
      return;
    }
    send(
        ctx,
        new ApiException(
            404,
            "invalid_request_error",
            null,
            "not_found",
            ctx.method() + " " + ctx.path() + " is not an endpoint here"));
  }

  private void health(Context ctx) {
    ObjectNode n = Responses.JSON.createObjectNode();
    n.put("status", scheduler.draining() ? "draining" : "ok");
    n.put("load", scheduler.load());
    n.put("system_fingerprint", fingerprint);
    ctx.status(scheduler.draining() ? 503 : 200)
        .contentType("application/json")
        .result(n.toString());
  }

  private void models(Context ctx) {
    ObjectNode n = Responses.JSON.createObjectNode();
    n.put("object", "list");
    ObjectNode m = n.putArray("data").addObject();
    m.put("id", o.modelId());
    m.put("object", "model");
    m.put("created", 0);
    m.put("owned_by", "tokendrift");
    ctx.contentType("application/json").result(n.toString());
  }

  private JsonNode readBody(Context ctx) throws IOException {
    byte[] body;
    try (InputStream in = ctx.bodyInputStream()) {
      body = in.readNBytes(o.maxBodyBytes() + 1);
    }
    if (body.length > o.maxBodyBytes()) {
      throw new ApiException(
          413,
          "invalid_request_error",
          null,
          "request_too_large",
          "the body is over " + o.maxBodyBytes() + " bytes");
    }
    try {
      return Responses.JSON.readTree(body);
    } catch (IOException e) {
      throw ApiException.invalid(null, "the body is not valid JSON");
    }
  }

  private void complete(Context ctx, boolean chat) throws Exception {
    Request r = Request.parse(readBody(ctx), chat, template, o.allowUnknownFields());
    if (r.model() != null && !r.model().equals(o.modelId())) {
      throw new ApiException(
          404,
          "invalid_request_error",
          "model",
          "model_not_found",
          "model '" + r.model() + "' is not served here; this server serves '" + o.modelId() + "'");
    }
    int[] prompt = tok.encode(r.prompt());
    String param = chat ? "messages" : "prompt";
    if (prompt.length == 0) {
      throw ApiException.invalid(param, "the prompt encodes to no tokens");
    }
    if (io.tokendrift.engine.PromptRule.tooLong(prompt.length, scheduler.context(), false)) {
      throw new ApiException(
          400,
          "invalid_request_error",
          param,
          "context_length_exceeded",
          "the prompt is "
              + prompt.length
              + " tokens; this model's context holds "
              + scheduler.context()
              + ", one of which must be left to generate");
    }
    DecodeSettings d =
        new DecodeSettings(
            r.sampling(),
            new StopConditions(r.maxTokens(), eos, r.stop(), Duration.ZERO),
            r.seed());
    // Draw stream 0, as `generate` uses for its prompt: the same seed gives the same draws.
    Job job = new Job(prompt, new Generation(d, 0, tok::decode, System::nanoTime), r.topLogprobs());
    if (!scheduler.submit(job)) {
      if (scheduler.draining()) {
        throw new ApiException(
            503, "server_error", null, "shutting_down", "the server is stopping");
      }
      ctx.header("Retry-After", "1");
      throw new ApiException(
          429, "rate_limit_error", null, "queue_full", "the queue is full; retry in a moment");
    }
    Responses.Head head =
        new Responses.Head(
            (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(ids.incrementAndGet()),
            System.currentTimeMillis() / 1000,
            o.modelId(),
            fingerprint,
            chat);
    if (r.stream()) {
      stream(ctx, job, head, r);
    } else {
      whole(ctx, job, head, r, prompt.length);
    }
  }

  private void whole(Context ctx, Job job, Responses.Head head, Request r, int promptTokens)
      throws InterruptedException {
    List<Job.Token> tokens = new ArrayList<>();
    while (true) {
      Job.Event e = job.events.poll(10, TimeUnit.MINUTES);
      if (e instanceof Job.TokenEvent t) {
        tokens.add(t.token());
      } else if (e instanceof Job.Done done) {
        ctx.contentType("application/json")
            .result(
                Responses.body(head, done.completion(), tokens, r.topLogprobs(), promptTokens)
                    .toString());
        return;
      } else {
        job.cancelled = true;
        String why = e instanceof Job.Failed f ? f.message() : "timed out";
        throw new ApiException(500, "server_error", null, null, "generation failed: " + why);
      }
    }
  }

  private void stream(Context ctx, Job job, Responses.Head head, Request r)
      throws InterruptedException {
    ctx.status(200);
    ctx.contentType("text/event-stream");
    ctx.header("Cache-Control", "no-cache");
    try {
      // The servlet's own stream, flushed per event: Javalin's output stream buffers (and may
      // compress) until the request ends, which would hold every token back.
      jakarta.servlet.http.HttpServletResponse res = ctx.res();
      OutputStream out = res.getOutputStream();
      Runnable flush =
          () -> {
            try {
              res.flushBuffer();
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          };
      boolean first = true;
      while (true) {
        Job.Event e = job.events.poll(10, TimeUnit.MINUTES);
        if (e instanceof Job.TokenEvent t) {
          write(out, Responses.chunk(head, t.token(), null, r.topLogprobs(), first).toString());
          flush.run();
          first = false;
        } else if (e instanceof Job.Done done) {
          String finish = Responses.finishReason(done.completion());
          write(out, Responses.chunk(head, null, finish, -1, first).toString());
          write(out, "[DONE]");
          flush.run();
          return;
        } else {
          String why = e instanceof Job.Failed f ? f.message() : "timed out";
          ApiException x = new ApiException(500, "server_error", null, null, "failed: " + why);
          write(out, Responses.error(x).toString());
          return;
        }
      }
    } catch (IOException | java.io.UncheckedIOException gone) {
      job.cancelled = true; // the client went away: the scheduler frees its slot
    }
  }

  private static void write(OutputStream out, String data) throws IOException {
    out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
