package io.tokendrift.engine.torch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokendrift.engine.EnvironmentException;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One running PyTorch worker process ({@code worker.py}, shipped in the jar) and its frames: a
 * little-endian u32 length and a JSON header, then a u32 length and a raw payload (logits as
 * little-endian float32). Every call has a deadline; a worker that does not answer in time is
 * killed, and one that dies is reported with the tail of its stderr.
 */
final class Worker implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int STDERR_TAIL = 30;
  private static Path script;

  private final Process process;
  private final DataInputStream in;
  private final OutputStream out;
  private final Deque<String> stderr = new ArrayDeque<>();
  private final ExecutorService reader;
  private final String python;

  /** A reply: its header and payload. */
  record Reply(JsonNode header, ByteBuffer payload) {}

  /** The worker answered with an error, or died, or did not answer in time. */
  static final class WorkerException extends RuntimeException {
    final String kind;

    WorkerException(String kind, String message) {
      super(message);
      this.kind = kind;
    }
  }

  private Worker(String python, Map<String, String> env) {
    this.python = python;
    List<String> cmd = new ArrayList<>(List.of(python, "-u", script().toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new EnvironmentException(
          "engine torch: cannot start '"
              + python
              + "' ("
              + e.getMessage()
              + "); install Python 3 (Debian: apt-get install python3 python3-torch) or name"
              + " another interpreter with the engine option python",
          e);
    }
    in = new DataInputStream(process.getInputStream());
    out = process.getOutputStream();
    reader =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "tokendrift-torch-worker-" + process.pid());
              t.setDaemon(true);
              return t;
            });
    Thread err = new Thread(this::pumpStderr, "tokendrift-torch-stderr-" + process.pid());
    err.setDaemon(true);
    err.start();
  }

  /**
   * Starts a worker and checks it can import torch.
   *
   * @throws EnvironmentException when Python or torch is missing
   */
  static Worker start(String python, Map<String, String> env, double timeoutSeconds) {
    Worker w = new Worker(python, env);
    try {
      w.call(JSON.createObjectNode().put("op", "hello"), null, timeoutSeconds);
      return w;
    } catch (WorkerException e) {
      w.close();
      if (e.kind.equals("torch_missing")) {
        throw new EnvironmentException(
            "engine torch: '"
                + python
                + "' cannot import torch ("
                + e.getMessage()
                + "); install it (Debian: apt-get install python3-torch; elsewhere: pip install"
                + " torch) or name an interpreter that has it with the engine option python");
      }
      throw new EnvironmentException("engine torch: the worker did not start: " + e.getMessage());
    }
  }

  private static synchronized Path script() {
    if (script == null || !Files.isRegularFile(script)) {
      try (InputStream s = Worker.class.getResourceAsStream("worker.py")) {
        if (s == null) {
          throw new IllegalStateException("worker.py is missing from the jar");
        }
        Path p = Files.createTempFile("tokendrift-torch-worker-", ".py");
        Files.write(p, s.readAllBytes());
        p.toFile().deleteOnExit();
        script = p;
      } catch (IOException e) {
        throw new EnvironmentException("engine torch: cannot write the worker script: " + e, e);
      }
    }
    return script;
  }

  long pid() {
    return process.pid();
  }

  /** False once the process died, was stopped for a timeout, or is being closed. */
  boolean alive() {
    return !broken && process.isAlive();
  }

  private volatile boolean broken;

  /**
   * Sends {@code header} (and {@code payload}, may be null) and waits for the answer.
   *
   * @throws WorkerException when the worker answers an error, dies, or exceeds the deadline
   */
  synchronized Reply call(ObjectNode header, byte[] payload, double timeoutSeconds) {
    if (!process.isAlive()) {
      throw died();
    }
    try {
      byte[] h = JSON.writeValueAsBytes(header);
      ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      out.write(len.putInt(0, h.length).array());
      out.write(h);
      int plen = payload == null ? 0 : payload.length;
      out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(plen).array());
      if (plen > 0) {
        out.write(payload);
      }
      out.flush();
    } catch (IOException e) {
      throw died();
    }
    Future<Reply> f = reader.submit(this::readReply);
    Reply r;
    try {
      r = f.get((long) (timeoutSeconds * 1000), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      broken = true;
      f.cancel(true);
      process.destroyForcibly();
      throw new WorkerException(
          "timeout",
          String.format(
              java.util.Locale.ROOT,
              "the torch worker (pid %d) did not answer '%s' within %.0f s and was stopped%s",
              process.pid(),
              header.path("op").asText(),
              timeoutSeconds,
              tail()));
    } catch (ExecutionException e) {
      throw died();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new WorkerException("interrupted", "interrupted while waiting for the torch worker");
    }
    if (!r.header().path("ok").asBoolean(false)) {
      throw new WorkerException(
          r.header().path("error").asText("error"), r.header().path("message").asText(""));
    }
    return r;
  }

  private Reply readReply() throws IOException {
    int hlen = Integer.reverseBytes(in.readInt());
    byte[] h = new byte[hlen];
    in.readFully(h);
    int plen = Integer.reverseBytes(in.readInt());
    byte[] p = new byte[plen];
    in.readFully(p);
    return new Reply(JSON.readTree(h), ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN));
  }

  private WorkerException died() {
    broken = true;
    try {
      process.waitFor(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    String code = process.isAlive() ? "still running" : "exit code " + process.exitValue();
    return new WorkerException(
        "died",
        "the torch worker (pid "
            + process.pid()
            + ", "
            + python
            + ") stopped ("
            + code
            + ")"
            + tail());
  }

  private String tail() {
    synchronized (stderr) {
      return stderr.isEmpty() ? "" : "; its stderr ended: " + String.join(" | ", stderr);
    }
  }

  private void pumpStderr() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        synchronized (stderr) {
          stderr.addLast(line);
          while (stderr.size() > STDERR_TAIL) {
            stderr.removeFirst();
          }
        }
      }
    } catch (IOException ignored) {
      // the worker is gone
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      try {
        call(JSON.createObjectNode().put("op", "exit"), null, 5);
      } catch (RuntimeException ignored) {
        // it is being stopped anyway
      }
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
    reader.shutdownNow();
  }
}
