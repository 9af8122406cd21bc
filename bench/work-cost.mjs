// What the download proof of work costs the recipient (docs/API.md, "Wrong
// proofs"): solveWork from the page's own WebAssembly module (web/pkg, run
// in node's V8, the engine of Chromium), at each difficulty the server may
// ask for; mean of several solves, since solving time is random.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync, solveWork } from '../web/pkg-receive/veil.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
initSync({ module: fs.readFileSync(path.join(root, 'web/pkg-receive/veil_bg.wasm')) });
const samples = 16;
for (const bits of [12, 16, 20]) {
  const start = performance.now();
  for (let i = 0; i < samples; i++) solveWork('AAAAAAAAAAAAAAAAAAAAAA', String(i).padStart(43, '0'), bits);
  console.log(`wasm work: ${bits} bits, mean of ${samples} solves: ${((performance.now() - start) / samples).toFixed(1)} ms`);
}
