package io.tokendrift.trace;

import com.fasterxml.jackson.core.JsonProcessingException;

/** One run record as one line of JSON, as traces hold them: for processes handing records over. */
public final class RunLines {
  private RunLines() {}

  /** The record as a trace line (no newline). */
  public static String encode(RunRecord r) {
    return TraceCodec.run(r);
  }

  /**
   * Reads a line {@link #encode} wrote.
   *
   * @param where names the line's origin in errors
   */
  public static RunRecord decode(String line, String where) {
    try {
      return TraceCodec.readRun(TraceCodec.JSON.readTree(line), where);
    } catch (JsonProcessingException e) {
      throw new TraceFormatException(where + ": not a JSON run record: " + e.getOriginalMessage());
    }
  }
}
