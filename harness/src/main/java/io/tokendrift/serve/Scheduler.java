package io.tokendrift.serve;

import io.tokendrift.decode.Choice;
import io.tokendrift.decode.StopReason;
import io.tokendrift.engine.Batch;
import io.tokendrift.engine.Engine;
import io.tokendrift.model.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Continuous batching: one thread owns the engine and keeps up to {@code maxBatch} requests
 * running. A request that arrives joins at the next step boundary; a finished one frees its slot.
 *
 * <p>Default mode (the ordinary, batch-dependent one): the running requests share one engine batch.
 * When requests join, the batch is built anew from every running request's prompt and tokens so far
 * (a prefill of all of them), then decodes step by step; finished rows stay masked until the next
 * rebuild. Every request's logits therefore depend on what else is running — as in servers that
 * batch whatever is in flight. Batch-invariant mode runs the same shared batch on an engine opened
 * batch-invariant: a row's logits do not depend on its neighbours, and its prefill computes what
 * its decode steps computed, so neither sharing the batch nor rebuilding it on a join changes a bit
 * — continuous batching at full speed, bit-identical whatever else runs.
 */
final class Scheduler implements AutoCloseable {
  private final Engine engine;
  private final TextTokenizer tok;
  private final int maxBatch;
  private final int context;
  private final BlockingQueue<Job> queue;
  private final Thread thread;
  private volatile boolean accepting = true;
  private volatile boolean stopped;
  private volatile int running;

  /** One running request. */
  private static final class Row {
    final Job job;
    final List<Integer> tokens = new ArrayList<>();
    String emitted = "";
    boolean live = true;

    Row(Job job) {
      this.job = job;
    }

    int[] sequence() {
      int[] s = Arrays.copyOf(job.prompt, job.prompt.length + tokens.size());
      for (int i = 0; i < tokens.size(); i++) {
        s[job.prompt.length + i] = tokens.get(i);
      }
      return s;
    }
  }

  Scheduler(Engine engine, TextTokenizer tok, int maxBatch, int queueLimit) {
    this.engine = engine;
    this.tok = tok;
    this.maxBatch = maxBatch;
    this.context = engine.capabilities().contextLength();
    this.queue = new ArrayBlockingQueue<>(queueLimit);
    this.thread = new Thread(this::loop, "tokendrift-scheduler");
    thread.setDaemon(true);
    thread.start();
  }

  /** The engine's context window (prompts must leave room for one token). */
  int context() {
    return context;
  }

  /**
   * Queues a job.
   *
   * @return false when the queue is full or the server is draining
   */
  boolean submit(Job job) {
    return accepting && queue.offer(job);
  }

  /** Requests queued or running. */
  int load() {
    return queue.size() + running;
  }

  /** Stops taking requests; those queued and running finish. */
  void drain() {
    accepting = false;
  }

  boolean draining() {
    return !accepting;
  }

  /** Waits until nothing is queued or running (or the timeout passes). */
  boolean awaitIdle(long millis) throws InterruptedException {
    long end = System.currentTimeMillis() + millis;
    while (load() > 0 && System.currentTimeMillis() < end) {
      Thread.sleep(20);
    }
    return load() == 0;
  }

  @Override
  public void close() {
    accepting = false;
    stopped = true;
    thread.interrupt();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void loop() {
    List<Row> rows = new ArrayList<>();
    Batch shared = null;
    try {
      while (!stopped) {
        boolean joined = admit(rows);
        running = (int) rows.stream().filter(r -> r.live).count();
        if (running == 0) {
          shared = closeShared(shared);
          rows.clear();
          Job next = queue.poll(50, TimeUnit.MILLISECONDS);
          if (next != null) {
            rows.add(new Row(next));
            running = 1;
            joined = true;
          } else {
            continue;
          }
        }
        try {
          if (shared != null && joined && shared.addRows(newcomers(rows, shared.rows()))) {
            // The batch took the newcomers alone (batch-invariant): the others keep their caches.
            running = (int) rows.stream().filter(r -> r.live).count();
          } else if (joined || shared == null) {
            shared = closeShared(shared);
            rows.removeIf(r -> !r.live);
            List<int[]> seqs = new ArrayList<>();
            for (Row r : rows) {
              seqs.add(r.sequence());
            }
            shared = engine.start(seqs);
          }
          stepShared(rows, shared);
        } catch (RuntimeException e) {
          // The engine failed for this batch: its requests get the error, the server goes on.
          for (Row r : rows) {
            if (r.live) {
              r.job.events.add(new Job.Failed(io.tokendrift.engine.Failures.describe(e)));
              r.live = false;
            }
          }
          rows.clear();
          shared = closeShared(shared);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      // Whatever ended the loop (a stop, or an Error such as out-of-memory), nothing may wait for
      // a scheduler that is gone: no new requests, and every queued one answered.
      accepting = false;
      Job left;
      while ((left = queue.poll()) != null) {
        left.events.add(new Job.Failed("the server stopped"));
      }
      closeShared(shared);
      for (Row r : rows) {
        if (r.live) {
          r.job.events.add(new Job.Failed("the server stopped"));
        }
      }
    }
  }

  /** The prompts of the rows beyond the batch's {@code held} rows (those that just joined). */
  private static List<int[]> newcomers(List<Row> rows, int held) {
    List<int[]> out = new ArrayList<>();
    for (int i = held; i < rows.size(); i++) {
      out.add(rows.get(i).sequence());
    }
    return out;
  }

  /** Takes queued jobs into free slots; true when any joined. */
  private boolean admit(List<Row> rows) {
    boolean joined = false;
    long live = rows.stream().filter(r -> r.live).count();
    Job j;
    while (live < maxBatch && (j = queue.poll()) != null) {
      if (j.cancelled) {
        continue;
      }
      rows.add(new Row(j));
      live++;
      joined = true;
    }
    return joined;
  }

  private void stepShared(List<Row> rows, Batch batch) {
    int[] next = new int[rows.size()];
    boolean[] active = new boolean[rows.size()];
    boolean any = false;
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      if (!r.live) {
        continue;
      }
      if (r.job.cancelled) {
        r.live = false; // the client went away: its slot is free at the next rebuild
        batch.release(i);
        continue;
      }
      next[i] = choose(r, batch.logits(i), batch.length(i));
      active[i] = r.live;
      any |= r.live;
      if (!r.live) {
        batch.release(i); // a finished row's cache goes now, not at the next rebuild
      }
    }
    if (any) {
      batch.step(next, active);
    }
  }

  /** Samples the row's next token from {@code logits}, emits it, and ends the row when done. */
  private int choose(Row r, float[] logits, int length) {
    var g = r.job.generation;
    if (!g.beforeStep()) {
      finish(r, false);
      return 0;
    }
    Choice c = g.accept(logits);
    r.tokens.add(c.token());
    boolean full = !g.done() && length + 1 > context;
    if (full) {
      g.stop(StopReason.CONTEXT_FULL);
    }
    emit(r, c, logits);
    if (g.done()) {
      finish(r, full);
    }
    return c.token();
  }

  private void emit(Row r, Choice c, float[] logits) {
    var g = r.job.generation;
    String text = g.done() ? g.completion().text() : visibleText(r);
    // A delta only extends what was sent: text still ending in half a UTF-8 character (U+FFFD) or
    // a possible stop sequence is held back until the next tokens settle it.
    String delta = "";
    if (text.startsWith(r.emitted) && text.length() > r.emitted.length()) {
      delta = text.substring(r.emitted.length());
      r.emitted = text;
    }
    double lp = Double.NaN;
    List<Job.Top> top = List.of();
    if (r.job.topLogprobs >= 0) {
      Logprobs l = Logprobs.of(logits, r.job.topLogprobs);
      lp = l.of(c.token());
      top = new ArrayList<>();
      for (int i = 0; i < l.ids().length; i++) {
        top.add(new Job.Top(l.ids()[i], tok.decode(new int[] {l.ids()[i]}), l.values()[i]));
      }
    }
    r.job.events.add(
        new Job.TokenEvent(
            new Job.Token(c.token(), tok.decode(new int[] {c.token()}), delta, lp, top)));
  }

  /**
   * The text so far, without a tail that could still turn into a stop sequence (it is sent once the
   * next tokens show it is not one).
   */
  private String visibleText(Row r) {
    String text = r.job.generation.text(); // decoded once, by the generation itself
    int hold = stopHold(r);
    String visible = text.substring(0, Math.max(0, text.length() - hold));
    int bad = visible.indexOf('\uFFFD');
    return bad < 0 ? visible : visible.substring(0, bad);
  }

  private static int stopHold(Row r) {
    int longest = 0;
    for (String s : r.job.generation.settings().stop().stopSequences()) {
      longest = Math.max(longest, s.length() - 1);
    }
    return longest;
  }

  private void finish(Row r, boolean contextFull) {
    r.live = false;
    r.job.events.add(new Job.Done(r.job.generation.completion(), contextFull));
  }

  private static Batch closeShared(Batch b) {
    if (b != null) {
      b.close();
    }
    return null;
  }
}
