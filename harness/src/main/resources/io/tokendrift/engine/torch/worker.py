#!/usr/bin/env python3
"""tokendrift's PyTorch worker: the forward pass of a Hugging Face model folder in plain torch.

The Java harness keeps everything else (tokenizer, sampling, draws, stops, traces): this process
only turns token ids into logits. It reads nothing but the model folder it is told to load and the
frames on its standard input.

Protocol (version 1). Both directions carry frames:

    u32 little-endian  header length
    header             UTF-8 JSON object
    u32 little-endian  payload length
    payload            raw bytes (logits: little-endian float32, row-major [rows, vocab])

Requests (header "op") and their answers ("ok": true, or "ok": false with "error" and "message"):

    hello                       -> protocol, torch, cuda, hip, devices, python
    load   {dir, device, dtype, threads, tf32, deterministic, attention, batch_invariant}
                                -> model_type, vocab, context, device_name, settings
    start  {batch, prompts}     -> payload: last-position logits of every row
    step   {batch, tokens, active} -> payload: logits of every row after its new token
    close  {batch}              -> (nothing)
    exit                        -> the worker exits 0

Errors are answered, not raised: "oom" (CUDA out of memory), "bad_request", "model" (the folder),
"unsupported" (a setting this torch cannot honour).
"""

import json
import math
import os
import struct
import sys

PROTOCOL = 1


def read_exact(stream, n):
    chunks = []
    while n > 0:
        b = stream.read(n)
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_frame(stream):
    raw = read_exact(stream, 4)
    if raw is None:
        return None, None
    (hlen,) = struct.unpack("<I", raw)
    header = json.loads(read_exact(stream, hlen).decode("utf-8"))
    (plen,) = struct.unpack("<I", read_exact(stream, 4))
    payload = read_exact(stream, plen) if plen else b""
    return header, payload


def write_frame(stream, header, payload=b""):
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    stream.write(struct.pack("<I", len(h)))
    stream.write(h)
    stream.write(struct.pack("<I", len(payload)))
    if payload:
        stream.write(payload)
    stream.flush()


class Failure(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


# --- safetensors, read with the standard library (no `safetensors` package needed) --------------

DTYPES = {"F32": ("float32", 4), "F16": ("float16", 2), "BF16": ("bfloat16", 2)}


def read_safetensors(torch, path, wanted):
    out = {}
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen).decode("utf-8"))
        base = 8 + hlen
        for name, info in header.items():
            if name == "__metadata__" or name not in wanted:
                continue
            dtype = info["dtype"]
            if dtype not in DTYPES:
                raise Failure("model", "%s: tensor %s: dtype %s is not supported" % (path, name, dtype))
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            data = bytearray(f.read(end - begin))
            t = torch.frombuffer(data, dtype=getattr(torch, DTYPES[dtype][0])) if data else None
            shape = info["shape"]
            out[name] = (t.reshape(shape) if t is not None else torch.zeros(shape)).clone()
    return out


def read_weights(torch, folder, wanted):
    single = os.path.join(folder, "model.safetensors")
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.isfile(single):
        return read_safetensors(torch, single, wanted)
    if os.path.isfile(index):
        with open(index) as f:
            wmap = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(wmap.values())):
            if "/" in shard or "\\" in shard:
                raise Failure("model", "%s: shard name %r leaves the folder" % (index, shard))
            out.update(read_safetensors(torch, os.path.join(folder, shard), wanted))
        return out
    raise Failure("model", "%s: no model.safetensors or model.safetensors.index.json" % folder)


# --- the models --------------------------------------------------------------------------------


class Model:
    """A decoder whose forward(ids, pos, mask, past) returns (hidden, new_past)."""


class Gpt2(Model):
    def __init__(self, torch, cfg, folder, dtype, device):
        self.t = torch
        self.layers = cfg["n_layer"]
        self.heads = cfg["n_head"]
        self.width = cfg["n_embd"]
        self.vocab = cfg["vocab_size"]
        self.context = cfg.get("n_positions", 1024)
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.tanh = cfg.get("activation_function", "gelu_new") in ("gelu_new", "gelu_pytorch_tanh")
        names = {"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"}
        for i in range(self.layers):
            for p in ("ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"):
                names.add("h.%d.%s.weight" % (i, p))
                names.add("h.%d.%s.bias" % (i, p))
        wanted = set(names) | {"transformer." + n for n in names} | {"lm_head.weight"}
        raw = read_weights(torch, folder, wanted)
        prefix = "transformer." if "transformer.wte.weight" in raw else ""

        def w(n):
            if prefix + n not in raw:
                raise Failure("model", "%s: tensor %s%s is missing" % (folder, prefix, n))
            return raw[prefix + n].to(device=device, dtype=dtype)

        self.wte = w("wte.weight")
        self.wpe = w("wpe.weight")
        self.blocks = []
        for i in range(self.layers):
            h = "h.%d." % i
            self.blocks.append({k: w(h + k) for k in (
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")})
        self.lnf_w = w("ln_f.weight")
        self.lnf_b = w("ln_f.bias")
        tied = cfg.get("tie_word_embeddings", True)
        self.head = self.wte if tied else raw["lm_head.weight"].to(device=device, dtype=dtype)

    def forward(self, ids, pos, mask, past, attend):
        F = self.t.nn.functional
        x = self.wte[ids] + self.wpe[pos]
        b, t, c = x.shape
        h = self.heads
        d = c // h
        new = []
        for i, blk in enumerate(self.blocks):
            a = F.layer_norm(x, (c,), blk["ln_1.weight"], blk["ln_1.bias"], self.eps)
            qkv = a @ blk["attn.c_attn.weight"] + blk["attn.c_attn.bias"]
            q, k, v = qkv.split(c, dim=2)
            q = q.reshape(b, t, h, d).transpose(1, 2)
            k = k.reshape(b, t, h, d).transpose(1, 2)
            v = v.reshape(b, t, h, d).transpose(1, 2)
            if past is not None:
                k = self.t.cat([past[i][0], k], dim=2)
                v = self.t.cat([past[i][1], v], dim=2)
            new.append((k, v))
            y = attend(q, k, v, mask, 1.0 / math.sqrt(d))
            x = x + (y.transpose(1, 2).reshape(b, t, c) @ blk["attn.c_proj.weight"] + blk["attn.c_proj.bias"])
            m = F.layer_norm(x, (c,), blk["ln_2.weight"], blk["ln_2.bias"], self.eps)
            f = m @ blk["mlp.c_fc.weight"] + blk["mlp.c_fc.bias"]
            f = F.gelu(f, approximate="tanh") if self.tanh else F.gelu(f)
            x = x + (f @ blk["mlp.c_proj.weight"] + blk["mlp.c_proj.bias"])
        x = F.layer_norm(x, (c,), self.lnf_w, self.lnf_b, self.eps)
        return x, new

    def logits(self, hidden):
        return hidden @ self.head.t()


class Llama(Model):
    FAMILIES = ("llama", "mistral", "qwen2", "qwen3")

    def __init__(self, torch, cfg, folder, dtype, device):
        self.t = torch
        self.family = cfg["model_type"]
        self.layers = cfg["num_hidden_layers"]
        self.heads = cfg["num_attention_heads"]
        self.kv = cfg.get("num_key_value_heads") or self.heads
        self.width = cfg["hidden_size"]
        self.hd = cfg.get("head_dim") or self.width // self.heads
        self.vocab = cfg["vocab_size"]
        self.context = cfg.get("max_position_embeddings", 2048)
        window = cfg.get("sliding_window")
        if self.family == "qwen2" and not cfg.get("use_sliding_window", False):
            window = None
        if window:
            self.context = min(self.context, window)
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        act = cfg.get("hidden_act", "silu")
        if act not in ("silu", "swish"):
            raise Failure("model", "config.json: hidden_act %r is not supported; allowed: silu" % act)
        theta = cfg.get("rope_theta", 10000.0)
        inv = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd))
        scaling = cfg.get("rope_scaling")
        if scaling and scaling.get("rope_type", scaling.get("type")) not in (None, "default"):
            kind = scaling.get("rope_type", scaling.get("type"))
            if kind != "llama3":
                raise Failure("model", "config.json: rope_scaling type %r is not supported; allowed: llama3" % kind)
            factor = scaling["factor"]
            low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
            old = scaling["original_max_position_embeddings"]
            wavelen = 2 * math.pi / inv
            scaled = torch.where(wavelen > old / low, inv / factor, inv)
            smooth = (old / wavelen - low) / (high - low)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = ~(wavelen < old / high) & ~(wavelen > old / low)
            inv = torch.where(medium, smoothed, scaled)
        self.inv_freq = inv.to(device)
        qkv_bias = self.family == "qwen2" or cfg.get("attention_bias", False)
        o_bias = self.family != "qwen2" and cfg.get("attention_bias", False)
        mlp_bias = self.family == "llama" and cfg.get("mlp_bias", False)
        self.qk_norm = self.family == "qwen3"
        names = {"embed_tokens.weight", "norm.weight"}
        for i in range(self.layers):
            L = "layers.%d." % i
            names |= {L + "input_layernorm.weight", L + "post_attention_layernorm.weight"}
            for p in ("q_proj", "k_proj", "v_proj", "o_proj"):
                names.add(L + "self_attn.%s.weight" % p)
                names.add(L + "self_attn.%s.bias" % p)
            for p in ("gate_proj", "up_proj", "down_proj"):
                names.add(L + "mlp.%s.weight" % p)
                names.add(L + "mlp.%s.bias" % p)
            names |= {L + "self_attn.q_norm.weight", L + "self_attn.k_norm.weight"}
        wanted = names | {"model." + n for n in names} | {"lm_head.weight"}
        raw = read_weights(torch, folder, wanted)
        prefix = "model." if "model.embed_tokens.weight" in raw else ""

        def w(n, needed=True):
            if prefix + n not in raw:
                if needed:
                    raise Failure("model", "%s: tensor %s%s is missing" % (folder, prefix, n))
                return None
            return raw[prefix + n].to(device=device, dtype=dtype)

        self.embed = w("embed_tokens.weight")
        self.blocks = []
        for i in range(self.layers):
            L = "layers.%d." % i
            blk = {
                "in": w(L + "input_layernorm.weight"),
                "post": w(L + "post_attention_layernorm.weight"),
                "q": w(L + "self_attn.q_proj.weight"), "k": w(L + "self_attn.k_proj.weight"),
                "v": w(L + "self_attn.v_proj.weight"), "o": w(L + "self_attn.o_proj.weight"),
                "gate": w(L + "mlp.gate_proj.weight"), "up": w(L + "mlp.up_proj.weight"),
                "down": w(L + "mlp.down_proj.weight"),
            }
            for p in ("q", "k", "v"):
                blk[p + "b"] = w(L + "self_attn.%s_proj.bias" % p) if qkv_bias else None
            blk["ob"] = w(L + "self_attn.o_proj.bias") if o_bias else None
            for p in ("gate", "up", "down"):
                blk[p + "b"] = w(L + "mlp.%s_proj.bias" % p) if mlp_bias else None
            if self.qk_norm:
                blk["qn"] = w(L + "self_attn.q_norm.weight")
                blk["kn"] = w(L + "self_attn.k_norm.weight")
            self.blocks.append(blk)
        self.norm = w("norm.weight")
        tied = cfg.get("tie_word_embeddings", False)
        self.head = self.embed if tied else raw["lm_head.weight"].to(device=device, dtype=dtype)

    def rms(self, x, w):
        # As transformers' LlamaRMSNorm: in float32, then back, then times the weight.
        dt = x.dtype
        xf = x.float()
        xf = xf * self.t.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return w * xf.to(dt)

    def lin(self, x, w, b):
        y = x @ w.t()
        return y + b if b is not None else y

    def forward(self, ids, pos, mask, past, attend):
        torch = self.t
        x = self.embed[ids]
        b, t, _ = x.shape
        freqs = pos.float()[..., None] * self.inv_freq[None, None, :]  # float32 like transformers
        emb = torch.cat([freqs, freqs], dim=-1)
        cos = emb.cos().to(x.dtype)[:, None]
        sin = emb.sin().to(x.dtype)[:, None]

        def rope(v):
            half = v.shape[-1] // 2
            rotated = torch.cat([-v[..., half:], v[..., :half]], dim=-1)
            return v * cos + rotated * sin

        new = []
        groups = self.heads // self.kv
        for i, blk in enumerate(self.blocks):
            a = self.rms(x, blk["in"])
            q = self.lin(a, blk["q"], blk["qb"]).reshape(b, t, self.heads, self.hd)
            k = self.lin(a, blk["k"], blk["kb"]).reshape(b, t, self.kv, self.hd)
            v = self.lin(a, blk["v"], blk["vb"]).reshape(b, t, self.kv, self.hd)
            if self.qk_norm:
                q = self.rms(q, blk["qn"])
                k = self.rms(k, blk["kn"])
            q = rope(q.transpose(1, 2))
            k = rope(k.transpose(1, 2))
            v = v.transpose(1, 2)
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            new.append((k, v))
            kr = k.repeat_interleave(groups, dim=1) if groups > 1 else k
            vr = v.repeat_interleave(groups, dim=1) if groups > 1 else v
            y = attend(q, kr, vr, mask, 1.0 / math.sqrt(self.hd))
            x = x + self.lin(y.transpose(1, 2).reshape(b, t, self.heads * self.hd), blk["o"], blk["ob"])
            m = self.rms(x, blk["post"])
            g = self.lin(m, blk["gate"], blk["gateb"])
            u = self.lin(m, blk["up"], blk["upb"])
            x = x + self.lin(torch.nn.functional.silu(g) * u, blk["down"], blk["downb"])
        return self.rms(x, self.norm), new

    def logits(self, hidden):
        return hidden @ self.head.t()


# --- attention backends --------------------------------------------------------------------------


def make_attend(torch, backend):
    F = torch.nn.functional

    def math_attend(q, k, v, mask, scale):
        att = (q @ k.transpose(-1, -2)) * scale
        att = (att.float() + mask).softmax(-1).to(q.dtype)
        return att @ v

    if backend in ("math", "default") and not hasattr(F, "scaled_dot_product_attention"):
        return math_attend
    if backend == "math":
        return math_attend
    if not hasattr(F, "scaled_dot_product_attention"):
        raise Failure("unsupported", "attention %r needs torch >= 2.0 (scaled_dot_product_attention); this is torch %s; allowed here: math" % (backend, torch.__version__))

    def sdpa(q, k, v, mask, scale):
        m = mask.to(q.dtype)
        if backend == "default":
            return F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        flags = {"enable_math": backend == "math", "enable_flash": backend == "flash",
                 "enable_mem_efficient": backend == "efficient"}
        with torch.backends.cuda.sdp_kernel(**flags):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=m if backend != "flash" else None,
                                                  is_causal=False)

    return sdpa


# --- batches -------------------------------------------------------------------------------------

MASKED = -1e9


class Batch:
    def __init__(self, worker, prompts):
        self.w = worker
        torch = worker.torch
        self.rows = len(prompts)
        longest = max(len(p) for p in prompts)
        self.lengths = [len(p) for p in prompts]
        self.valid = [[False] * (longest - len(p)) + [True] * len(p) for p in prompts]
        ids = [[0] * (longest - len(p)) + list(p) for p in prompts]
        pos = [[0] * (longest - len(p)) + list(range(len(p))) for p in prompts]
        self.past = None
        self.total = 0
        self.last = self.forward(ids, pos, longest)

    def forward(self, ids, pos, t):
        torch = self.w.torch
        dev = self.w.device
        s = self.total + t
        mask = torch.full((self.rows, 1, t, s), MASKED, dtype=torch.float32)
        for b in range(self.rows):
            for i in range(t):
                q = self.total + i
                for j in range(q + 1):
                    if self.valid[b][j]:
                        mask[b, 0, i, j] = 0.0
        with torch.no_grad():
            idt = torch.tensor(ids, dtype=torch.long, device=dev)
            pst = torch.tensor(pos, dtype=torch.long, device=dev)
            hidden, self.past = self.w.model.forward(idt, pst, mask.to(dev), self.past, self.w.attend)
            logits = self.w.model.logits(hidden[:, -1, :]).float().cpu().contiguous()
        self.total = s
        return logits

    def step(self, tokens, active):
        ctx = self.w.model.context
        pos = []
        for b in range(self.rows):
            self.valid[b].append(bool(active[b]))
            pos.append([min(self.lengths[b], ctx - 1)])
            if active[b]:
                self.lengths[b] += 1
        self.last = self.forward([[t] for t in tokens], pos, 1)


class RowByRow:
    """Batch-invariant mode: every row runs as a batch of one, so no row's arithmetic sees another's."""

    def __init__(self, worker, prompts):
        self.parts = [Batch(worker, [p]) for p in prompts]
        self.last = worker.torch.cat([p.last for p in self.parts], dim=0)
        self.torch = worker.torch

    def step(self, tokens, active):
        for b, part in enumerate(self.parts):
            if active[b]:
                part.step([tokens[b]], [True])
        self.last = self.torch.cat([p.last for p in self.parts], dim=0)


# --- the worker ----------------------------------------------------------------------------------


class Worker:
    def __init__(self, torch):
        self.torch = torch
        self.model = None
        self.batches = {}
        self.invariant = False

    def hello(self, h):
        t = self.torch
        return {"protocol": PROTOCOL, "torch": t.__version__,
                "cuda": getattr(t.version, "cuda", None), "hip": getattr(t.version, "hip", None),
                "devices": t.cuda.device_count() if t.cuda.is_available() else 0,
                "python": sys.version.split()[0]}

    def load(self, h):
        torch = self.torch
        folder = h["dir"]
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        device = h.get("device", "cpu")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise Failure("unsupported", "device %s: torch %s sees no CUDA/ROCm GPU" % (device, torch.__version__))
        self.device = torch.device(device)
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[h.get("dtype", "fp32")]
        if h.get("threads", 0) > 0:
            torch.set_num_threads(int(h["threads"]))
        if device.startswith("cuda"):
            torch.backends.cuda.matmul.allow_tf32 = bool(h.get("tf32", False))
            torch.backends.cudnn.allow_tf32 = bool(h.get("tf32", False))
        if h.get("deterministic", False):
            torch.use_deterministic_algorithms(True)
        self.attend = make_attend(torch, h.get("attention", "math"))
        self.invariant = bool(h.get("batch_invariant", False))
        kind = cfg.get("model_type", "gpt2" if "n_embd" in cfg else None)
        if kind == "gpt2":
            self.model = Gpt2(torch, cfg, folder, dtype, self.device)
        elif kind in Llama.FAMILIES:
            self.model = Llama(torch, cfg, folder, dtype, self.device)
        else:
            raise Failure("model", "config.json: model_type %r is not supported; allowed: gpt2, llama, mistral, qwen2, qwen3" % kind)
        name = torch.cuda.get_device_name(self.device) if device.startswith("cuda") else "cpu"
        return {"model_type": kind, "vocab": self.model.vocab, "context": self.model.context,
                "device_name": name,
                "settings": {"threads": torch.get_num_threads(),
                             "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
                             "deterministic": bool(torch.are_deterministic_algorithms_enabled()),
                             "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG", ""),
                             "attention": h.get("attention", "math"),
                             "cudnn": str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "",
                             "driver": driver_version()}}

    def start(self, h):
        if self.model is None:
            raise Failure("bad_request", "start before load")
        prompts = h["prompts"]
        if not prompts or any(len(p) == 0 for p in prompts):
            raise Failure("bad_request", "every row needs at least one token")
        for p in prompts:
            if len(p) > self.model.context or any(t < 0 or t >= self.model.vocab for t in p):
                raise Failure("bad_request", "a prompt is longer than the context or holds ids outside the vocabulary")
        b = (RowByRow if self.invariant else Batch)(self, prompts)
        self.batches[h["batch"]] = b
        return b.last

    def step(self, h):
        b = self.batches.get(h["batch"])
        if b is None:
            raise Failure("bad_request", "no batch %r" % h["batch"])
        b.step(h["tokens"], h["active"])
        return b.last


def driver_version():
    try:
        with open("/proc/driver/nvidia/version") as f:
            return f.readline().strip()
    except OSError:
        return ""


def main():
    out = sys.stdout.buffer
    inp = sys.stdin.buffer
    # Anything printed by libraries goes to stderr: stdout carries frames only.
    sys.stdout = sys.stderr
    try:
        import torch
    except ImportError as e:
        write_frame(out, {"ok": False, "error": "torch_missing", "message": str(e)})
        return 3
    w = Worker(torch)
    while True:
        h, payload = read_frame(inp)
        if h is None:
            return 0
        op = h.get("op")
        try:
            if op == "hello":
                write_frame(out, dict(ok=True, **w.hello(h)))
            elif op == "load":
                write_frame(out, dict(ok=True, **w.load(h)))
            elif op in ("start", "step"):
                logits = w.start(h) if op == "start" else w.step(h)
                rows, vocab = logits.shape
                write_frame(out, {"ok": True, "rows": rows, "vocab": vocab},
                            logits.numpy().astype("<f4").tobytes())
            elif op == "close":
                w.batches.pop(h.get("batch"), None)
                write_frame(out, {"ok": True})
            elif op == "exit":
                write_frame(out, {"ok": True})
                return 0
            else:
                write_frame(out, {"ok": False, "error": "bad_request", "message": "unknown op %r" % op})
        except Failure as f:
            write_frame(out, {"ok": False, "error": f.kind, "message": str(f)})
        except RuntimeError as e:
            kind = "oom" if "out of memory" in str(e).lower() else "runtime"
            if kind == "oom" and torch.cuda.is_available():
                torch.cuda.empty_cache()
            write_frame(out, {"ok": False, "error": kind, "message": str(e)})
        except (KeyError, ValueError, TypeError) as e:
            write_frame(out, {"ok": False, "error": "bad_request", "message": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    sys.exit(main())
