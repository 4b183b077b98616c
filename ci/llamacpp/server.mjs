// An OpenAI-compatible completions server over llama.cpp (node-llama-cpp's prebuilt CPU build): the
// engine nobody here wrote, for tokendrift's tests and experiments/llamacpp.yaml. Like llama-server's
// slots, up to --parallel requests decode at once as sequences of one context, which llama.cpp
// evaluates together in shared batches.
//
//   node server.mjs --model FILE.gguf [--port 0] [--parallel 1] [--threads 2] [--context 256]
//                   [--cache-type f16|f32] [--leak]
//
// --cache-type: the KV cache's element type, llama-server's --cache-type-k/-v; F16 is llama.cpp's
// default (its rounding moves log-probabilities by ~1e-3 on the bundled model), F32 keeps them
// within ~1e-5 of a float64 forward pass.
//
// Prints "listening on http://127.0.0.1:PORT/v1" once ready. POST /v1/completions takes prompt,
// max_tokens, temperature, top_p, seed, logprobs (top-N alternatives, as OpenAI's legacy API), stop,
// and llama-server's cache_prompt (default false here): true keeps the slot's KV cache for the
// prefix the new prompt shares with what the slot last held and evaluates only the rest, as
// llama-server does; usage.prompt_tokens_details.cached_tokens says how many were reused (OpenAI's
// field). GET /v1/models. As llama-server's slots: --parallel sequences made once, each request takes a free
// one and waits until its history is cleared (awaited) before its prompt is evaluated.
//
// Why awaited, and made once: an earlier version took a new sequence per request and disposed it
// without waiting; a disposed sequence's id came back to the next request before its KV-cache cells
// were removed, so that request attended to the previous one's tokens — other requests' text in its
// answer ("... Monday, Tuesday liked to ..."), which tokendrift reported as unexplained divergences
// under concurrency. --leak brings that back on purpose (the history is never cleared): the negative
// control of the test that a server sharing state between requests is reported as a real change.
import http from "node:http";
import {getLlama} from "node-llama-cpp";

const args = Object.fromEntries(
    process.argv
    .slice(2)
    .reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]?.startsWith("--") ? "" : all[i + 1]]] : a), []));
const parallel = Number(args.parallel ?? 1);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: args.model});
const context = await model.createContext({
  contextSize: Number(args.context ?? 256) * parallel,
  sequences: parallel,
  threads: Number(args.threads ?? 2),
  flashAttention: args["flash-attn"] === "on" ? true : args["flash-attn"] === "off" ? false : "auto",
  experimentalKvCacheKeyType: String(args["cache-type"] ?? "f16").toUpperCase(),
  experimentalKvCacheValueType: String(args["cache-type"] ?? "f16").toUpperCase(),
});
const id = String(args.model).split("/").pop();
const leak = "leak" in args;
let served = 0;
const waiting = [];
const free = Array.from({length: parallel}, () => context.getSequence());

async function slot() {
  if (free.length > 0) return free.pop();
  return await new Promise((resolve) => waiting.push(resolve));
}

function release(sequence) {
  const next = waiting.shift();
  if (next) next(sequence);
  else free.push(sequence);
}

function error(res, status, message, param = null) {
  res.writeHead(status, {"Content-Type": "application/json"});
  res.end(JSON.stringify({error: {message, type: "invalid_request_error", param, code: null}}));
}

async function complete(body) {
  const prompt = body.prompt;
  if (typeof prompt !== "string" || prompt.length === 0) throw {status: 400, message: "'prompt' must be a non-empty string", param: "prompt"};
  const maxTokens = Number(body.max_tokens ?? 16);
  const temperature = Number(body.temperature ?? 1);
  const topN = body.logprobs == null || body.logprobs === false ? -1 : Number(body.logprobs);
  const stop = body.stop == null ? [] : Array.isArray(body.stop) ? body.stop : [body.stop];
  const tokens = model.tokenize(prompt, false);
  const sequence = await slot();
  try {
    let cached = 0;
    if (leak) {
      // the negative control: the slot's history stays, the prompt is appended to it
    } else if (body.cache_prompt === true) {
      // The longest prefix shared with the slot's KV cache is kept; at least one prompt token is
      // evaluated again, for its logits.
      const have = sequence.contextTokens;
      while (cached < have.length && cached < tokens.length - 1 && have[cached] === tokens[cached]) cached++;
      if (cached < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{start: cached, end: sequence.nextTokenIndex}]);
    } else {
      await sequence.clearHistory();
    }
    const out = [];
    const lp = {tokens: [], token_logprobs: [], top_logprobs: [], text_offset: []};
    let text = "";
    let finish = "length";
    const options = {temperature, topP: Number(body.top_p ?? 1), seed: body.seed == null ? undefined : Number(body.seed)};
    for await (const r of sequence.evaluateWithMetadata(tokens.slice(cached), {probabilities: topN >= 0}, options)) {
      if (model.isEogToken(r.token)) {
        finish = "stop";
        break;
      }
      out.push(r.token);
      const piece = model.detokenize([r.token]);
      if (topN >= 0) {
        lp.text_offset.push(prompt.length + text.length);
        lp.tokens.push(piece);
        lp.token_logprobs.push(Math.log(r.probabilities.get(r.token)));
        const top = {};
        for (const [t, p] of [...r.probabilities.entries()].slice(0, topN)) top[model.detokenize([t])] = Math.log(p);
        lp.top_logprobs.push(top);
      }
      text += piece;
      if (stop.some((s) => text.includes(s))) {
        finish = "stop";
        break;
      }
      if (out.length >= maxTokens) break;
    }
    return {
      id: "cmpl-" + ++served,
      object: "text_completion",
      created: Math.floor(Date.now() / 1000),
      model: id,
      system_fingerprint: "llama.cpp-" + llama.buildType + "-parallel" + parallel + (leak ? "-leak" : ""),
      choices: [{index: 0, text, logprobs: topN >= 0 ? lp : null, finish_reason: finish}],
      usage: {
        prompt_tokens: tokens.length,
        completion_tokens: out.length,
        total_tokens: tokens.length + out.length,
        prompt_tokens_details: {cached_tokens: cached},
      },
    };
  } finally {
    release(sequence);
  }
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/v1/models") {
    res.writeHead(200, {"Content-Type": "application/json"});
    res.end(JSON.stringify({object: "list", data: [{id, object: "model", owned_by: "llama.cpp"}]}));
    return;
  }
  if (req.method !== "POST" || req.url !== "/v1/completions") {
    error(res, 404, `${req.method} ${req.url} is not an endpoint here`);
    return;
  }
  let raw = "";
  req.on("data", (c) => (raw += c));
  req.on("end", async () => {
    try {
      const reply = await complete(JSON.parse(raw));
      res.writeHead(200, {"Content-Type": "application/json"});
      res.end(JSON.stringify(reply));
    } catch (e) {
      error(res, e.status ?? 500, e.message ?? String(e), e.param ?? null);
    }
  });
});
server.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/v1`);
});
