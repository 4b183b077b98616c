package io.tokendrift.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads {@code near_ties.json}: the planted near-ties of a model, with their token ids. */
public final class NearTiesFile {
  public static final String SCHEMA = "tokendrift.near_ties/1";

  /**
   * One planted point.
   *
   * @param id stable name
   * @param prefix the prompt text before the choice
   * @param kind "50/50", "70/30", "90/10"
   * @param alternatives the continuations
   */
  public record Entry(String id, String prefix, String kind, List<Alternative> alternatives) {
    /** The alternative with the largest intended share (the first among equals). */
    public Alternative favourite() {
      Alternative best = alternatives.get(0);
      for (Alternative a : alternatives) {
        if (a.intended() > best.intended()) {
          best = a;
        }
      }
      return best;
    }
  }

  /**
   * One continuation.
   *
   * @param text the text, with its leading space
   * @param intended its share in the corpus
   * @param firstToken id of its first token after the prefix
   */
  public record Alternative(String text, double intended, int firstToken) {}

  /**
   * A planted micro-tie: a context on the float64 greedy path of a prompt where the top-1/top-2
   * margin was set between 1e-7 and 1e-4 nats.
   *
   * @param id stable name
   * @param prompt the prompt whose greedy path reaches it
   * @param step the generated token's index at the tie (0 = first after the prompt)
   * @param path the tokens generated before the tie
   * @param top1 the token that wins in float64
   * @param top2 the runner-up
   * @param margin the float64 margin top1 − top2 (nats)
   */
  public record MicroTie(
      String id, String prompt, int step, int[] path, int top1, int top2, double margin) {}

  private NearTiesFile() {}

  /** The micro-ties of the file (none when it has no {@code micro_ties} array). */
  public static List<MicroTie> readMicro(Path file) {
    JsonNode list = root(file).path("micro_ties");
    List<MicroTie> out = new ArrayList<>();
    if (list.isMissingNode()) {
      return out;
    }
    if (!list.isArray()) {
      throw new ModelFormatException(file + ": field 'micro_ties' must be an array");
    }
    for (int i = 0; i < list.size(); i++) {
      JsonNode n = list.get(i);
      String at = "micro_ties[" + i + "]";
      JsonNode path = n.path("path");
      if (!path.isArray()) {
        throw new ModelFormatException(file + ": " + at + ".path must be an array of token ids");
      }
      int[] ids = new int[path.size()];
      for (int j = 0; j < ids.length; j++) {
        ids[j] = path.get(j).asInt();
      }
      int step = (int) number(file, n, at, "step");
      if (step != ids.length) {
        throw new ModelFormatException(
            file
                + ": "
                + at
                + ".step ("
                + step
                + ") must equal the path's length ("
                + ids.length
                + ")");
      }
      out.add(
          new MicroTie(
              text(file, n, at, "id"),
              text(file, n, at, "prompt"),
              step,
              ids,
              (int) number(file, n.path("top1"), at + ".top1", "id"),
              (int) number(file, n.path("top2"), at + ".top2", "id"),
              number(file, n, at, "margin_float64")));
    }
    return out;
  }

  private static JsonNode root(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readString(file));
    } catch (JsonProcessingException e) {
      throw new ModelFormatException(
          file
              + ":"
              + e.getLocation().getLineNr()
              + ":"
              + e.getLocation().getColumnNr()
              + ": not valid JSON: "
              + e.getOriginalMessage(),
          e);
    } catch (IOException e) {
      throw new ModelFormatException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (!SCHEMA.equals(root.path("schema").asText())) {
      throw new ModelFormatException(
          file + ": field 'schema' must be \"" + SCHEMA + "\", got " + root.get("schema"));
    }
    return root;
  }

  /** Reads and checks the file; errors name the file and the field. */
  public static List<Entry> read(Path file) {
    JsonNode root = root(file);
    JsonNode list = root.path("near_ties");
    if (!list.isArray()) {
      throw new ModelFormatException(file + ": field 'near_ties' must be an array");
    }
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      JsonNode n = list.get(i);
      String at = "near_ties[" + i + "]";
      JsonNode alts = n.path("alternatives");
      if (!alts.isArray() || alts.size() < 2) {
        throw new ModelFormatException(
            file + ": " + at + ".alternatives must be an array of at least two");
      }
      List<Alternative> as = new ArrayList<>();
      for (int j = 0; j < alts.size(); j++) {
        JsonNode a = alts.get(j);
        String aat = at + ".alternatives[" + j + "]";
        as.add(
            new Alternative(
                text(file, a, aat, "text"),
                number(file, a, aat, "intended"),
                (int) number(file, a, aat, "first_token")));
      }
      out.add(
          new Entry(
              text(file, n, at, "id"), text(file, n, at, "prefix"), text(file, n, at, "kind"), as));
    }
    return out;
  }

  private static String text(Path file, JsonNode n, String at, String field) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new ModelFormatException(file + ": " + at + "." + field + " must be a string");
    }
    return v.asText();
  }

  private static double number(Path file, JsonNode n, String at, String field) {
    JsonNode v = n.get(field);
    if (v == null || !v.isNumber()) {
      throw new ModelFormatException(file + ": " + at + "." + field + " must be a number");
    }
    return v.asDouble();
  }
}
