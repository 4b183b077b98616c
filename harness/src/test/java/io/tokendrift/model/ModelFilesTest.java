package io.tokendrift.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {
  @TempDir Path dir;

  @Test
  void safetensorsRoundTripIsExactAndByteStable() throws Exception {
    Tensor a =
        new Tensor("b", new long[] {2, 3}, new float[] {1, -2, 3.5f, Float.MIN_VALUE, -0f, 1e30f});
    Tensor b = new Tensor("a", new long[] {1}, new float[] {7});
    Path f = dir.resolve("x.safetensors");
    Safetensors.write(f, List.of(a, b), Map.of("format", "pt"));
    Map<String, Tensor> back = Safetensors.read(f);
    assertThat(back.keySet()).containsExactly("a", "b");
    assertThat(back.get("b").data()).containsExactly(a.data());
    assertThat(back.get("b").shape()).containsExactly(2, 3);
    byte[] first = Files.readAllBytes(f);
    Safetensors.write(f, List.of(b, a), Map.of("format", "pt"));
    assertThat(Files.readAllBytes(f)).isEqualTo(first);
    // The header is 8-byte aligned, as the format recommends.
    long headerLen = ByteBuffer.wrap(first, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(headerLen % 8).isZero();
  }

  @Test
  void halfAndBfloat16AreWidenedInJava() throws Exception {
    // F16 0x3C00 = 1.0, 0xC000 = -2.0, 0x0001 = 2^-24, 0x7C00 = +inf; BF16 0x3FC0 = 1.5.
    Path f = dir.resolve("h.safetensors");
    String header =
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
            + "\"bf\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}}";
    ByteBuffer buf = ByteBuffer.allocate(8 + header.length() + 10).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(header.length()).put(header.getBytes(StandardCharsets.UTF_8));
    buf.putShort((short) 0x3C00)
        .putShort((short) 0xC000)
        .putShort((short) 0x0001)
        .putShort((short) 0x7C00);
    buf.putShort((short) 0x3FC0);
    Files.write(f, buf.array());
    Map<String, Tensor> t = Safetensors.read(f);
    assertThat(t.get("h").data()).containsExactly(1f, -2f, 0x1.0p-24f, Float.POSITIVE_INFINITY);
    assertThat(t.get("bf").data()).containsExactly(1.5f);
  }

  @Test
  void corruptSafetensorsAreNamed() throws Exception {
    Path f = dir.resolve("bad.safetensors");
    Files.write(f, new byte[] {1, 2, 3});
    assertThatThrownBy(() -> Safetensors.read(f))
        .isInstanceOf(ModelFormatException.class)
        .hasMessage(f + ": too short for a safetensors file (3 bytes)");
    String header = "{\"w\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    ByteBuffer buf = ByteBuffer.allocate(8 + header.length() + 1).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(header.length()).put(header.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
    Files.write(f, buf.array());
    assertThatThrownBy(() -> Safetensors.read(f))
        .hasMessage(f + ": tensor 'w': dtype 'I8' is not supported; allowed: F32, F16, BF16");
  }

  @Test
  void modelFolderErrorsNameTheFile() throws Exception {
    assertThatThrownBy(() -> ModelDir.open(dir))
        .hasMessage(
            dir
                + ": missing config.json; a model folder needs config.json, model.safetensors (or"
                + " model.safetensors.index.json and its shards) and tokenizer.json (Hugging Face"
                + " layout)");
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"falcon\"}");
    Files.writeString(dir.resolve("model.safetensors"), "");
    Files.writeString(dir.resolve("tokenizer.json"), "{}");
    assertThatThrownBy(() -> ModelDir.open(dir))
        .hasMessageStartingWith(dir.resolve("config.json") + ": model_type 'falcon' is not")
        .hasMessageContaining("gpt2, llama, mistral, qwen2, qwen3");
    Files.writeString(
        dir.resolve("config.json"),
        "{\"model_type\": \"gpt2\", \"n_embd\": 30, \"n_head\": 4, \"n_layer\": 1, \"vocab_size\": 5, \"n_positions\": 8}");
    assertThatThrownBy(() -> ModelDir.open(dir))
        .hasMessage(
            dir.resolve("config.json") + ": n_head (4) must be >= 1 and divide n_embd (30)");
  }

  @Test
  void weightsAreFoundWithOrWithoutTheTransformerPrefixAndShapesAreChecked() throws Exception {
    Gpt2Config c = TestCheckpoints.TINY;
    TestCheckpoints.write(dir.resolve("plain"), c, 1, "");
    TestCheckpoints.write(dir.resolve("prefixed"), c, 1, "transformer.");
    Gpt2Weights plain = Gpt2Weights.read(dir.resolve("plain/model.safetensors"), c);
    Gpt2Weights prefixed = Gpt2Weights.read(dir.resolve("prefixed/model.safetensors"), c);
    assertThat(prefixed.get("h.1.mlp.c_fc.weight").data())
        .containsExactly(plain.get("h.1.mlp.c_fc.weight").data());
    Gpt2Config wider = new Gpt2Config(97, 64, 32, 2, 4, 256, 1e-5, true, 0);
    Path f = dir.resolve("plain/model.safetensors");
    assertThatThrownBy(() -> Gpt2Weights.read(f, wider))
        .isInstanceOf(ModelFormatException.class)
        .hasMessage(
            f
                + ": tensor 'h.0.mlp.c_fc.weight' has shape [32, 128], config.json implies [32, 256]");
    Gpt2Config deeper = new Gpt2Config(97, 64, 32, 3, 4, 128, 1e-5, true, 0);
    assertThatThrownBy(() -> Gpt2Weights.read(f, deeper))
        .hasMessage(f + ": tensor 'h.2.ln_1.weight' is missing");
  }

  @Test
  void configRoundTripsThroughItsJson() throws Exception {
    Path f = dir.resolve("config.json");
    Files.writeString(f, TestCheckpoints.TINY.toJson());
    assertThat(Gpt2Config.read(f)).isEqualTo(TestCheckpoints.TINY);
  }

  @Test
  void configOptionsTheEngineDoesNotImplementAreRefusedByName() throws Exception {
    Path f = dir.resolve("config.json");
    String json = TestCheckpoints.TINY.toJson();
    Files.writeString(f, json.replaceFirst("\\{", "{\"scale_attn_by_inverse_layer_idx\": true, "));
    assertThatThrownBy(() -> Gpt2Config.read(f))
        .isInstanceOf(ModelFormatException.class)
        .hasMessage(
            f
                + ": field 'scale_attn_by_inverse_layer_idx' is true; tokendrift's GPT-2 engine"
                + " supports only false (it would compute other logits than the checkpoint's own)");
    Files.writeString(f, json.replaceFirst("\\{", "{\"reorder_and_upcast_attn\": true, "));
    assertThatThrownBy(() -> Gpt2Config.read(f)).hasMessageContaining("'reorder_and_upcast_attn'");
    // The values Hugging Face writes by default are accepted.
    Files.writeString(
        f,
        json.replaceFirst(
            "\\{",
            "{\"scale_attn_by_inverse_layer_idx\": false, \"reorder_and_upcast_attn\": false,"
                + " \"scale_attn_weights\": true, "));
    assertThat(Gpt2Config.read(f)).isEqualTo(TestCheckpoints.TINY);
  }
}
