package io.tokendrift.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reads a logit vector from a text file: numbers separated by commas, spaces or line breaks. */
final class LogitsFile {
  private LogitsFile() {}

  static float[] read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UserInputException(file + ": cannot read logits file: " + e.getMessage());
    }
    float[] out = new float[16];
    int n = 0;
    for (int li = 0; li < lines.size(); li++) {
      String line = lines.get(li);
      int i = 0;
      while (i < line.length()) {
        char c = line.charAt(i);
        if (c == ',' || Character.isWhitespace(c)) {
          i++;
          continue;
        }
        int start = i;
        while (i < line.length()
            && line.charAt(i) != ','
            && !Character.isWhitespace(line.charAt(i))) {
          i++;
        }
        String token = line.substring(start, i);
        float v;
        try {
          v = Float.parseFloat(token);
        } catch (NumberFormatException e) {
          throw new UserInputException(
              file
                  + ":"
                  + (li + 1)
                  + ":"
                  + (start + 1)
                  + ": '"
                  + token
                  + "' is not a number; expected logits separated by commas or spaces");
        }
        if (n == out.length) {
          out = java.util.Arrays.copyOf(out, n * 2);
        }
        out[n++] = v;
      }
    }
    if (n == 0) {
      throw new UserInputException(
          file + ": no logits found; expected numbers separated by commas");
    }
    return java.util.Arrays.copyOf(out, n);
  }
}
