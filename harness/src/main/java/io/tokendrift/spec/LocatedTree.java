package io.tokendrift.spec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * A YAML (or JSON) document read with Jackson, plus where each value sits in the file, keyed by its
 * field path ({@code axes.batch.sizes[1]}), so every refusal can name line and column.
 */
final class LocatedTree {
  final Path file;
  final JsonNode root;
  private final Map<String, JsonLocation> where = new HashMap<>();

  private LocatedTree(Path file, JsonNode root) {
    this.file = file;
    this.root = root;
  }

  static LocatedTree read(Path file) {
    if (Files.isDirectory(file)) {
      throw new SpecException(file + ": is a folder; give the spec file (YAML or JSON)");
    }
    String text;
    try {
      text = Files.readString(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new SpecException(file + ": no such file", e);
    } catch (IOException e) {
      // It is there but cannot be read (permissions, I/O): the environment, not the input.
      throw new java.io.UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
    }
    io.tokendrift.trace.FileKind kind =
        io.tokendrift.trace.FileKind.ofText(text.substring(0, Math.min(text.length(), 8192)));
    if (kind == io.tokendrift.trace.FileKind.TRACE
        || kind == io.tokendrift.trace.FileKind.ANALYSIS) {
      throw new SpecException(kind.explain(file, "spec"));
    }
    YAMLFactory yaml =
        YAMLFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    ObjectMapper mapper = new ObjectMapper(yaml);
    try {
      JsonNode root = mapper.readTree(text);
      LocatedTree t = new LocatedTree(file, root == null ? mapper.nullNode() : root);
      try (JsonParser p = yaml.createParser(text)) {
        t.index(p);
      }
      return t;
    } catch (JsonProcessingException e) {
      JsonLocation l = e.getLocation();
      String msg = e.getOriginalMessage();
      if (msg.startsWith("Duplicate field")) {
        msg = msg.replace("Duplicate field", "duplicate key");
      }
      throw new SpecException(
          file
              + (l == null ? "" : ":" + l.getLineNr() + ":" + l.getColumnNr())
              + ": not valid YAML: "
              + firstLine(msg),
          e);
    } catch (IOException e) {
      throw new SpecException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** The parser's explanation without its source excerpt (lines starting with a space). */
  private static String firstLine(String s) {
    StringBuilder b = new StringBuilder();
    for (String l : s.split("\n")) {
      if (!l.isBlank() && !l.startsWith(" ") && !l.startsWith("\t")) {
        b.append(b.length() == 0 ? "" : "; ").append(l.trim());
      }
    }
    return b.toString();
  }

  /** Walks the token stream, remembering the location of each field name and value. */
  private void index(JsonParser p) throws IOException {
    Deque<String> path = new ArrayDeque<>();
    Deque<int[]> arrayIndex = new ArrayDeque<>(); // per open container: next index, or -1
    String pendingField = null;
    JsonToken t;
    while ((t = p.nextToken()) != null) {
      JsonLocation loc = p.currentTokenLocation();
      if (t == JsonToken.FIELD_NAME) {
        pendingField = p.currentName();
        where.put(join(path, "." + pendingField), loc);
        continue;
      }
      String here;
      if (!arrayIndex.isEmpty() && arrayIndex.peek()[0] >= 0) {
        here = "[" + arrayIndex.peek()[0]++ + "]";
      } else {
        here = pendingField == null ? "" : "." + pendingField;
      }
      pendingField = null;
      if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
        arrayIndex.pop();
        path.pop();
        continue;
      }
      // Field names already have their own location; a value keeps the first one seen.
      where.putIfAbsent(join(path, here), loc);
      if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
        path.push(here);
        arrayIndex.push(new int[] {t == JsonToken.START_ARRAY ? 0 : -1});
      }
    }
  }

  private static String join(Deque<String> path, String last) {
    StringBuilder b = new StringBuilder();
    var it = path.descendingIterator();
    while (it.hasNext()) {
      b.append(it.next());
    }
    b.append(last);
    String s = b.toString();
    return s.startsWith(".") ? s.substring(1) : s;
  }

  /** "file:line:col" of the field path, or of its nearest located parent. */
  String at(String path) {
    String p = path;
    while (true) {
      JsonLocation l = where.get(p);
      if (l != null) {
        return file + ":" + l.getLineNr() + ":" + l.getColumnNr();
      }
      if (p.isEmpty()) {
        return file.toString();
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut < 0 ? "" : p.substring(0, cut);
    }
  }

  /** A refusal at {@code path}: "file:line:col: path: problem". */
  SpecException error(String path, String problem) {
    return new SpecException(at(path) + ": " + (path.isEmpty() ? "" : path + ": ") + problem);
  }
}
