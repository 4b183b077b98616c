package io.tokendrift.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Faults against a real server: each gets its status and an OpenAI-shaped message, and the server
 * keeps serving afterwards.
 */
class ServeFaultsTest {
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static HttpResponse<String> post(int port, String path, String body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode error(HttpResponse<String> r) throws Exception {
    return new ObjectMapper().readTree(r.body()).get("error");
  }

  static final String OK =
      "{\"prompt\": \"The cat sat on the\", \"max_tokens\": 3, \"temperature\": 0}";

  @Test
  void malformedHugeAndTooLongRequestsAreRefusedAndTheServerGoesOn() throws Exception {
    try (ServeTest.Running r = ServeTest.Running.start(false, null)) {
      int port = r.server().port();
      HttpResponse<String> bad = post(port, "/v1/completions", "{not json");
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(error(bad).get("message").asText()).contains("not valid JSON");
      HttpResponse<String> huge =
          post(port, "/v1/completions", "{\"prompt\": \"" + "x".repeat(70_000) + "\"}");
      assertThat(huge.statusCode()).isEqualTo(413);
      assertThat(error(huge).get("code").asText()).isEqualTo("request_too_large");
      HttpResponse<String> tooLong =
          post(port, "/v1/completions", "{\"prompt\": \"" + "a b ".repeat(400) + "\"}");
      assertThat(tooLong.statusCode()).isEqualTo(400);
      assertThat(error(tooLong).get("code").asText()).isEqualTo("context_length_exceeded");
      assertThat(error(tooLong).get("param").asText()).isEqualTo("prompt");
      HttpResponse<String> fine = post(port, "/v1/completions", OK);
      assertThat(fine.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aFullQueueAnswers429WithRetryAfter() throws Exception {
    try (ServeTest.Running base = ServeTest.Running.start(false, null)) {
      // A server of its own: one running request, one waiting.
      Server s =
          new Server(
              base.engine(),
              io.tokendrift.model.BundledModel.open(),
              base.tok(),
              new Server.Options(
                  "127.0.0.1", 0, "tokendrift-tiny", 1, 1, 65_536, null, false, false));
      try {
        String slow = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 200, \"temperature\": 0}";
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          all.add(
              HTTP.sendAsync(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + s.port() + "/v1/completions"))
                      .POST(HttpRequest.BodyPublishers.ofString(slow))
                      .build(),
                  HttpResponse.BodyHandlers.ofString()));
        }
        List<HttpResponse<String>> done = new ArrayList<>();
        for (var f : all) {
          done.add(f.get());
        }
        List<HttpResponse<String>> refused =
            done.stream().filter(x -> x.statusCode() == 429).toList();
        assertThat(refused).isNotEmpty();
        assertThat(refused.get(0).headers().firstValue("Retry-After")).contains("1");
        assertThat(error(refused.get(0)).get("code").asText()).isEqualTo("queue_full");
        assertThat(done).allMatch(x -> x.statusCode() == 200 || x.statusCode() == 429);
        assertThat(post(s.port(), "/v1/completions", OK).statusCode()).isEqualTo(200);
      } finally {
        s.close();
      }
    }
  }

  @Test
  void aClientThatLeavesMidStreamFreesItsSlotAndDrainingAnswers503() throws Exception {
    try (ServeTest.Running r = ServeTest.Running.start(false, null)) {
      int port = r.server().port();
      HttpURLConnection c =
          (HttpURLConnection)
              URI.create("http://127.0.0.1:" + port + "/v1/completions").toURL().openConnection();
      c.setDoOutput(true);
      c.setRequestMethod("POST");
      try (OutputStream o = c.getOutputStream()) {
        o.write(
            "{\"prompt\": \"Once upon a time\", \"max_tokens\": 250, \"stream\": true}"
                .getBytes(StandardCharsets.UTF_8));
      }
      BufferedReader in =
          new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8));
      assertThat(in.readLine()).startsWith("data: ");
      c.disconnect(); // gone mid-stream
      long deadline = System.currentTimeMillis() + 20_000;
      int load = -1;
      while (System.currentTimeMillis() < deadline) {
        HttpResponse<String> h =
            HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        load = new ObjectMapper().readTree(h.body()).get("load").asInt();
        if (load == 0) {
          break;
        }
        Thread.sleep(50);
      }
      assertThat(load).as("the slot is free again").isZero();
      assertThat(post(port, "/v1/completions", OK).statusCode()).isEqualTo(200);
      assertThat(r.server().drain(5_000)).isTrue();
      HttpResponse<String> late = post(port, "/v1/completions", OK);
      assertThat(late.statusCode()).isEqualTo(503);
      assertThat(error(late).get("code").asText()).isEqualTo("shutting_down");
    }
  }

  @Test
  void aMisspelledOrUnimplementedSettingIsA400NamingItAndEveryErrorIsOpenAiShaped()
      throws Exception {
    try (ServeTest.Running r = ServeTest.Running.start(false, null)) {
      int port = r.server().port();
      // A probing tool must not sample at the default temperature because of a typo.
      HttpResponse<String> typo =
          post(port, "/v1/completions", "{\"prompt\": \"The cat\", \"temprature\": 0}");
      assertThat(typo.statusCode()).isEqualTo(400);
      assertThat(typo.headers().firstValue("Content-Type").orElse("")).contains("application/json");
      assertThat(error(typo).get("param").asText()).isEqualTo("temprature");
      assertThat(error(typo).get("message").asText())
          .startsWith("unknown field 'temprature' (did you mean 'temperature'?)")
          .contains("--allow-unknown-fields");
      // A field of the API this server does not implement: only its no-op value passes.
      HttpResponse<String> penalty =
          post(
              port,
              "/v1/completions",
              "{\"prompt\": \"The cat\", \"max_tokens\": 2, \"presence_penalty\": 0.5}");
      assertThat(penalty.statusCode()).isEqualTo(400);
      assertThat(error(penalty).get("param").asText()).isEqualTo("presence_penalty");
      assertThat(
              post(
                      port,
                      "/v1/completions",
                      "{\"prompt\": \"The cat\", \"max_tokens\": 2, \"presence_penalty\": 0,"
                          + " \"user\": \"u1\"}")
                  .statusCode())
          .isEqualTo(200);
      // The other endpoint's input field is named as such.
      HttpResponse<String> wrong =
          post(
              port,
              "/v1/completions",
              "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
      assertThat(wrong.statusCode()).isEqualTo(400);
      assertThat(error(wrong).get("message").asText()).contains("belongs to /v1/chat/completions");
      // An unknown path and a wrong method: OpenAI-shaped JSON too, not Javalin's plain text.
      HttpResponse<String> nope =
          HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/nope")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(nope.statusCode()).isEqualTo(404);
      assertThat(nope.headers().firstValue("Content-Type").orElse("")).contains("application/json");
      assertThat(error(nope).get("code").asText()).isEqualTo("not_found");
      assertThat(error(nope).get("message").asText())
          .isEqualTo("GET /nope is not an endpoint here");
      HttpResponse<String> get =
          HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(get.statusCode()).isIn(404, 405);
      assertThat(error(get).get("message").asText()).isNotEmpty();
    }
    // With --allow-unknown-fields the extra is skipped (a client that sends its own fields).
    try (ServeTest.Running base = ServeTest.Running.start(false, null)) {
      Server lenient =
          new Server(
              base.engine(),
              io.tokendrift.model.BundledModel.open(),
              base.tok(),
              new Server.Options(
                  "127.0.0.1", 0, "tokendrift-tiny", 8, 64, 65_536, null, false, true));
      try {
        HttpResponse<String> extra =
            post(
                lenient.port(),
                "/v1/completions",
                "{\"prompt\": \"The cat\", \"max_tokens\": 2, \"x_trace_id\": \"abc\"}");
        assertThat(extra.statusCode()).isEqualTo(200);
      } finally {
        lenient.close();
      }
    }
  }

  @Test
  void aPortInUseIsAnEnvironmentErrorNamingItNotABug() throws Exception {
    try (ServeTest.Running r = ServeTest.Running.start(false, null)) {
      int taken = r.server().port();
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () ->
                  new Server(
                      r.engine(),
                      io.tokendrift.model.BundledModel.open(),
                      r.tok(),
                      new Server.Options(
                          "127.0.0.1",
                          taken,
                          "tokendrift-tiny",
                          8,
                          64,
                          65_536,
                          null,
                          false,
                          false)))
          .isInstanceOf(io.tokendrift.engine.EnvironmentException.class)
          .hasMessage(
              "127.0.0.1:"
                  + taken
                  + " is in use by another process; stop it, or choose another port with --port (0"
                  + " picks a free one)");
      // The server that holds the port goes on.
      assertThat(post(taken, "/v1/completions", OK).statusCode()).isEqualTo(200);
    }
  }
}
