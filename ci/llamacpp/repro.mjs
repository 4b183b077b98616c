// Minimal reproduction of cross-request contamination in node-llama-cpp 3.21.1 (see README: llama.cpp).
//   node repro.mjs FILE.gguf [probs|noprobs] [reuse|fresh]
// 8 prompts decoded alone, then 3 rounds of: each alone again (concurrency 1), then all 8 at once as
// sequences of one context (concurrency 8); every sequence cleared (awaited) before it is used.
// Prints every greedy continuation that differs from the prompt's first solo one.
import {getLlama} from "node-llama-cpp";
const [file, probsArg = "probs", reuseArg = "reuse"] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: file});
const prompts = ["The capital of France is", "The cat sat on the", "She poured a cup of", "The coin landed on",
  "The weather today is", "At night the sky is", "Once upon a time there was a", "Temperature scales"];
const ctx = await model.createContext({contextSize: 256 * 8, sequences: 8, threads: 2});
const pool = Array.from({length: 8}, () => ctx.getSequence());
async function gen(p, seq) {
  await seq.clearHistory();
  const out = [];
  for await (const r of seq.evaluateWithMetadata(model.tokenize(p, false), {probabilities: probsArg === "probs"}, {temperature: 0})) {
    out.push(r.token);
    if (out.length >= 40) break;
  }
  return out;
}
const solo = [];
for (const p of prompts) solo.push(await gen(p, pool[0]));
let bad = 0, total = 0;
const check = (w, res) => res.forEach((r, i) => {
  total++;
  const d = r.findIndex((t, j) => t !== solo[i][j]);
  if (d >= 0) { bad++; console.log(`${w}: prompt ${i} differs at token ${d}: ${JSON.stringify(model.detokenize(r.slice(Math.max(0, d - 4), d + 4)))} vs ${JSON.stringify(model.detokenize(solo[i].slice(Math.max(0, d - 4), d + 4)))}`); }
});
for (let round = 0; round < 3; round++) {
  const alone = [];
  for (let i = 0; i < prompts.length; i++) alone.push(await gen(prompts[i], pool[reuseArg === "reuse" ? (round + i) % 8 : 0]));
  check(`round ${round} alone`, alone);
  check(`round ${round} together`, await Promise.all(prompts.map((p, i) => gen(p, pool[i]))));
}
console.log(`${bad} of ${total} continuations differ (${probsArg}, ${reuseArg})`);
