"""The peer `tokendrift bench --torch-python` quotes its speed against: greedy decoding written in
plain PyTorch the way a careful user writes it, independent of tokendrift's torch worker.

- the KV cache preallocated once per run (layers x batch x heads x positions x head size), written
  in place at each step; no concatenation, no per-step allocation beyond PyTorch's own;
- q, k and v in one matmul (GPT-2's fused c_attn as stored; Llama's three projections concatenated
  once at load), gate and up likewise; every row of the batch in the same matmuls;
- inference mode, contiguous weights, the thread count the caller gives.

Usage: torch_peer.py FOLDER PROMPT_LEN STEPS THREADS BATCH...
THREADS: torch thread counts to try, comma-separated; each batch keeps its fastest (as a careful user
tunes it: torch's threads and OpenBLAS's own can oversubscribe the cores).
FOLDER holds config.json and model.safetensors (GPT-2 or Llama-family, float32). Prints one JSON
object: torch's version, its BLAS (build setting and the library actually loaded), its CPU
capability, and per batch the decode tokens/s (prefill not timed; each batch measured twice, the
second kept), as tokendrift's DecodeBenchmark measures its own engines; and the top-5 (id, logit)
after the first prompt, to check the peer computes the model it is timed on.
"""

import json
import math
import os
import struct
import sys
import time


def read_safetensors(torch, path):
    """Every tensor of a safetensors file (F32/F16), with the standard library's struct."""
    dtypes = {"F32": torch.float32, "F16": torch.float16}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=dtypes[meta["dtype"]])
        out[name] = t.reshape(meta["shape"]).float().contiguous()
    return out


def strip(weights, prefixes):
    out = {}
    for k, v in weights.items():
        for p in prefixes:
            if k.startswith(p):
                k = k[len(p):]
                break
        out[k] = v
    return out


def shared(k, v, heads, kv_heads):
    """Grouped-query attention: each key/value head serves heads / kv_heads query heads."""
    if kv_heads == heads:
        return k, v
    rep = heads // kv_heads
    return k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)


def attend(torch, q, kc, vc, t, heads, kv_heads):
    """q: (B, H, 1, D) against the first t cached positions (B, KV, T, D)."""
    k, v = shared(kc[:, :, :t], vc[:, :, :t], heads, kv_heads)
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    return torch.matmul(torch.softmax(s, dim=-1), v)


def attend_prompt(torch, q, k, v, heads, kv_heads):
    """Causal attention over the prompt: q, k, v (B, H|KV, T, D)."""
    k, v = shared(k, v, heads, kv_heads)
    t = q.shape[2]
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    s = s.masked_fill(mask, float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


class Gpt2:
    def __init__(self, torch, cfg, w):
        self.torch = torch
        w = strip(w, ["transformer."])
        self.c = cfg["n_embd"]
        self.h = cfg["n_head"]
        self.d = self.c // self.h
        self.layers = cfg["n_layer"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.wte = w["wte.weight"]
        self.wpe = w["wpe.weight"]
        self.head = w.get("lm_head.weight", self.wte)
        self.L = [
            {k: w["h.%d.%s" % (i, k)] for k in (
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")}
            for i in range(self.layers)
        ]
        self.lnf = (w["ln_f.weight"], w["ln_f.bias"])
        self.kv_heads = self.h

    def cache(self, batch, positions):
        shape = (self.layers, batch, self.h, positions, self.d)
        return self.torch.empty(shape), self.torch.empty(shape)

    def run(self, ids, pos, kc, vc):
        """ids (B, T) at positions pos..pos+T-1; fills the cache; the last position's logits."""
        torch = self.torch
        F = torch.nn.functional
        b, t = ids.shape
        x = self.wte[ids] + self.wpe[pos:pos + t]
        for i, L in enumerate(self.L):
            a = F.layer_norm(x, (self.c,), L["ln_1.weight"], L["ln_1.bias"], self.eps)
            qkv = torch.addmm(L["attn.c_attn.bias"], a.view(b * t, self.c), L["attn.c_attn.weight"])
            q, k, v = qkv.view(b, t, 3, self.h, self.d).permute(2, 0, 3, 1, 4)
            kc[i, :, :, pos:pos + t] = k
            vc[i, :, :, pos:pos + t] = v
            if t == 1:
                o = attend(torch, q, kc[i], vc[i], pos + 1, self.h, self.h)
            else:
                o = attend_prompt(torch, q, k, v, self.h, self.h)
            o = o.transpose(1, 2).reshape(b * t, self.c)
            x = x + torch.addmm(L["attn.c_proj.bias"], o, L["attn.c_proj.weight"]).view(b, t, self.c)
            m = F.layer_norm(x, (self.c,), L["ln_2.weight"], L["ln_2.bias"], self.eps)
            m = F.gelu(torch.addmm(L["mlp.c_fc.bias"], m.view(b * t, self.c), L["mlp.c_fc.weight"]),
                       approximate="tanh")
            x = x + torch.addmm(L["mlp.c_proj.bias"], m, L["mlp.c_proj.weight"]).view(b, t, self.c)
        last = F.layer_norm(x[:, -1], (self.c,), self.lnf[0], self.lnf[1], self.eps)
        return torch.matmul(last, self.head.t())


class Llama:
    def __init__(self, torch, cfg, w):
        self.torch = torch
        w = strip(w, ["model."])
        self.c = cfg["hidden_size"]
        self.h = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads", self.h)
        self.d = cfg.get("head_dim") or self.c // self.h
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.embed = w["embed_tokens.weight"]
        self.head = w.get("lm_head.weight", self.embed)
        self.norm = w["norm.weight"]
        self.L = []
        for i in range(self.layers):
            p = "layers.%d." % i

            def bias(n):
                return w.get(p + n + ".bias")

            qkv_w = torch.cat([w[p + "self_attn.%s_proj.weight" % n] for n in "qkv"]).contiguous()
            biases = [bias("self_attn.%s_proj" % n) for n in "qkv"]
            qkv_b = torch.cat(biases) if biases[0] is not None else None
            self.L.append({
                "in": w[p + "input_layernorm.weight"],
                "qkv": qkv_w, "qkv_b": qkv_b,
                "o": w[p + "self_attn.o_proj.weight"],
                "post": w[p + "post_attention_layernorm.weight"],
                "gate_up": torch.cat([w[p + "mlp.gate_proj.weight"],
                                      w[p + "mlp.up_proj.weight"]]).contiguous(),
                "down": w[p + "mlp.down_proj.weight"],
            })
        theta = cfg.get("rope_theta", 10000.0)
        positions = cfg.get("max_position_embeddings", 2048)
        inv = 1.0 / (theta ** (torch.arange(0, self.d, 2, dtype=torch.float32) / self.d))
        ang = torch.outer(torch.arange(positions, dtype=torch.float32), inv)
        emb = torch.cat([ang, ang], dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def cache(self, batch, positions):
        shape = (self.layers, batch, self.kv_heads, positions, self.d)
        return self.torch.empty(shape), self.torch.empty(shape)

    def rms(self, x, w):
        torch = self.torch
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def rope(self, x, pos, t):
        half = self.d // 2
        cos = self.cos[pos:pos + t]
        sin = self.sin[pos:pos + t]
        rot = self.torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    def run(self, ids, pos, kc, vc):
        torch = self.torch
        F = torch.nn.functional
        b, t = ids.shape
        x = self.embed[ids]
        nq, nk = self.h * self.d, self.kv_heads * self.d
        for i, L in enumerate(self.L):
            a = self.rms(x, L["in"])
            qkv = F.linear(a, L["qkv"], L["qkv_b"])
            q = qkv[..., :nq].view(b, t, self.h, self.d).transpose(1, 2)
            k = qkv[..., nq:nq + nk].view(b, t, self.kv_heads, self.d).transpose(1, 2)
            v = qkv[..., nq + nk:].view(b, t, self.kv_heads, self.d).transpose(1, 2)
            q = self.rope(q, pos, t)
            k = self.rope(k, pos, t)
            kc[i, :, :, pos:pos + t] = k
            vc[i, :, :, pos:pos + t] = v
            if t == 1:
                o = attend(torch, q, kc[i], vc[i], pos + 1, self.h, self.kv_heads)
            else:
                o = attend_prompt(torch, q, k, v, self.h, self.kv_heads)
            x = x + F.linear(o.transpose(1, 2).reshape(b, t, nq), L["o"])
            g, u = F.linear(self.rms(x, L["post"]), L["gate_up"]).chunk(2, dim=-1)
            x = x + F.linear(F.silu(g) * u, L["down"])
        return torch.matmul(self.rms(x[:, -1], self.norm), self.head.t())


def blas_library():
    """The BLAS library this process actually loaded (Debian's libblas.so.3 is an alternative)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(paths)) or "none loaded"


def cpu_capability(torch):
    """The kernels' instruction set ATen dispatches to (its build report says, in 1.x and 2.x)."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # not in this version: the build report's line
        for line in torch.__config__.show().splitlines():
            if "CPU capability usage:" in line:
                return line.split(":", 1)[1].strip()
    return "unknown"


def decode(torch, model, batch, prompt_len, steps, vocab):
    ids = torch.tensor([[(i * 7919 + r * 104729 + 13) % vocab for i in range(prompt_len)]
                        for r in range(batch)])
    kc, vc = model.cache(batch, prompt_len + steps + 1)
    logits = model.run(ids, 0, kc, vc)
    first = logits[0]
    nxt = logits.argmax(-1, keepdim=True)
    start = time.perf_counter()
    for s in range(steps):
        logits = model.run(nxt, prompt_len + s, kc, vc)
        nxt = logits.argmax(-1, keepdim=True)
    seconds = time.perf_counter() - start
    top = first.topk(5)
    return batch * steps / seconds, [[int(i), float(v)] for v, i in zip(top.values, top.indices)]


def main():
    folder, prompt_len, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    thread_counts = [int(t) for t in sys.argv[4].split(",")]
    batches = [int(b) for b in sys.argv[5:]]
    import torch

    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(torch, os.path.join(folder, "model.safetensors"))
    model = Gpt2(torch, cfg, w) if cfg.get("model_type") == "gpt2" else Llama(torch, cfg, w)
    vocab = cfg["vocab_size"]
    out = {}
    best_threads = {}
    first = None
    with torch.inference_mode():
        for t in thread_counts:
            torch.set_num_threads(t)
            for b in batches:
                decode(torch, model, b, prompt_len, steps, vocab)
                tps, top = decode(torch, model, b, prompt_len, steps, vocab)
                first = first or top
                if tps > out.get(str(b), 0):
                    out[str(b)] = tps
                    best_threads[str(b)] = t
    build = torch.__config__.show()
    info = {}
    for key in ("BLAS_INFO", "LAPACK_INFO"):
        at = build.find(key + "=")
        info[key.lower()] = build[at + len(key) + 1:].split(",")[0] if at >= 0 else "unknown"
    print(json.dumps({
        "torch": torch.__version__,
        "blas_info": info["blas_info"],
        "lapack_info": info["lapack_info"],
        "blas_library": blas_library(),
        "cpu_capability": cpu_capability(torch),
        "threads": best_threads,
        "tokens_per_second": out,
        "first_top5": first,
    }))


if __name__ == "__main__":
    main()
