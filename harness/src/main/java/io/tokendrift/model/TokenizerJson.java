package io.tokendrift.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;

/**
 * Writes a Hugging Face {@code tokenizer.json} for a byte-level BPE (ByteLevel pre-tokenizer and
 * decoder, BPE model with merges), the layout GPT-2's own tokenizer uses.
 */
public final class TokenizerJson {
  /** GPT-2's end-of-text token. */
  public static final String EOS = "<|endoftext|>";

  private TokenizerJson() {}

  /**
   * Builds the JSON.
   *
   * @param vocab token strings in id order (byte-level characters); the EOS token is appended after
   *     them, so its id is {@code vocab.size()}
   * @param merges merge rules in priority order, each "left right"
   */
  public static String build(List<String> vocab, List<String> merges) {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = m.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    ObjectNode eos = added.addObject();
    eos.put("id", vocab.size());
    eos.put("content", EOS);
    eos.put("single_word", false);
    eos.put("lstrip", false);
    eos.put("rstrip", false);
    eos.put("normalized", true);
    eos.put("special", true);
    root.putNull("normalizer");
    root.set("pre_tokenizer", byteLevel(m));
    root.set("post_processor", byteLevel(m));
    root.set("decoder", byteLevel(m));
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.put("continuing_subword_prefix", "");
    model.put("end_of_word_suffix", "");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    ObjectNode v = model.putObject("vocab");
    for (int i = 0; i < vocab.size(); i++) {
      v.put(vocab.get(i), i);
    }
    v.put(EOS, vocab.size());
    ArrayNode mg = model.putArray("merges");
    merges.forEach(mg::add);
    try {
      return m.writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ObjectNode byteLevel(ObjectMapper m) {
    ObjectNode n = m.createObjectNode();
    n.put("type", "ByteLevel");
    n.put("add_prefix_space", false);
    n.put("trim_offsets", true);
    n.put("use_regex", true);
    return n;
  }

  /** The 256 single-byte tokens in byte order: the base vocabulary of every byte-level BPE. */
  public static List<String> byteAlphabet() {
    String[] out = new String[256];
    for (int b = 0; b < 256; b++) {
      out[b] = String.valueOf(ByteLevel.charOf(b));
    }
    return List.of(out);
  }
}
