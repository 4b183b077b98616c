package io.tokendrift.spec;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Typed reading of a spec's fields with located refusals: every error names {@code
 * file:line:column}, the field path and what is allowed.
 */
final class SpecFields {
  final LocatedTree t;

  SpecFields(LocatedTree t) {
    this.t = t;
  }

  static Set<String> keys(String... k) {
    return new TreeSet<>(List.of(k));
  }

  /** A refusal at {@code path}. */
  SpecException error(String path, String problem) {
    return t.error(path, problem);
  }

  void checkKeys(JsonNode n, String at, Set<String> allowed) {
    Iterator<String> it = n.fieldNames();
    while (it.hasNext()) {
      String k = it.next();
      if (!allowed.contains(k)) {
        String path = at.isEmpty() ? k : at + "." + k;
        throw error(path, "unknown key; allowed here: " + String.join(", ", allowed));
      }
    }
  }

  private static String leaf(String path) {
    int i = path.lastIndexOf('.');
    return i < 0 ? path : path.substring(i + 1);
  }

  JsonNode field(JsonNode parent, String path) {
    return parent.get(leaf(path));
  }

  String string(JsonNode parent, String path, String def) {
    JsonNode v = field(parent, path);
    if (v == null || v.isNull()) {
      if (def == null) {
        throw error(path, "missing; a string is required");
      }
      return def;
    }
    if (!v.isTextual()) {
      throw error(path, "must be a string; got " + kind(v));
    }
    return v.asText();
  }

  double number(JsonNode parent, String path, double def) {
    JsonNode v = field(parent, path);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isNumber()) {
      throw error(path, "must be a number; got " + kind(v));
    }
    return v.asDouble();
  }

  int integer(JsonNode parent, String path, int def, int min, int max) {
    JsonNode v = field(parent, path);
    if (v == null || v.isNull()) {
      return def;
    }
    return checkedInt(v, path, min, max);
  }

  int checkedInt(JsonNode v, String path, int min, int max) {
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw error(path, "must be an integer in [" + min + ", " + max + "]; got " + kind(v));
    }
    int x = v.asInt();
    if (x < min || x > max) {
      throw error(path, "(" + x + ") is out of range; allowed: [" + min + ", " + max + "]");
    }
    return x;
  }

  boolean bool(JsonNode parent, String path, boolean def) {
    JsonNode v = field(parent, path);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isBoolean()) {
      throw error(path, "must be true or false; got " + kind(v));
    }
    return v.asBoolean();
  }

  List<String> strings(JsonNode n, String at, List<String> def, String allowed) {
    if (n == null) {
      return def;
    }
    if (!n.isArray() || n.isEmpty()) {
      throw error(at, "must be a non-empty list; allowed values: " + allowed);
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      if (!n.get(i).isTextual()) {
        throw error(
            at + "[" + i + "]", "must be a string (" + allowed + "); got " + kind(n.get(i)));
      }
      out.add(n.get(i).asText());
    }
    return out;
  }

  List<Integer> integers(JsonNode n, String at, List<Integer> def, int min, int max) {
    if (n == null) {
      return def;
    }
    if (!n.isArray() || n.isEmpty()) {
      throw error(at, "must be a non-empty list of integers in [" + min + ", " + max + "]");
    }
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      int v = checkedInt(n.get(i), at + "[" + i + "]", min, max);
      if (out.contains(v)) {
        throw error(at + "[" + i + "]", v + " is listed twice");
      }
      out.add(v);
    }
    return List.copyOf(out);
  }

  static String kind(JsonNode v) {
    if (v.isTextual()) {
      return "the string \"" + v.asText() + "\"";
    }
    if (v.isNull()) {
      return "nothing (null)";
    }
    if (v.isArray()) {
      return "a list";
    }
    if (v.isObject()) {
      return "a mapping";
    }
    return v.getNodeType().toString().toLowerCase(Locale.ROOT) + " " + v;
  }
}
