// In the browser: the page's own solveUploadWork (js/protocol-send.js, the
// WebAssembly build or, without WebAssembly, the JavaScript one), timed at
// each difficulty `?bits=8,12,...`; `?samples=N` solves per difficulty
// (fewer at the top). Result in window.benchResult.
import { ready, solveUploadWork } from '/js/protocol-send.js';

const q = new URLSearchParams(location.search);
const bitsList = (q.get('bits') ?? '8,12,14,16,18,20').split(',').map(Number);
const samples = Number(q.get('samples') ?? 8);
window.benchResult = (async () => {
  try {
    await ready;
    const out = [];
    for (const bits of bitsList) {
      const n = bits >= 20 ? Math.max(2, samples >> 2) : bits >= 18 ? Math.max(3, samples >> 1) : samples;
      const times = [];
      for (let i = 0; i < n; i++) {
        // A fresh challenge each time, as the server hands out.
        const challenge = `bench${bits}x${i}x${Math.random().toString(36).slice(2)}`.padEnd(54, 'A');
        const t = performance.now();
        solveUploadWork(challenge, bits);
        times.push(performance.now() - t);
      }
      out.push({ bits, n, mean: times.reduce((a, b) => a + b, 0) / n, max: Math.max(...times) });
    }
    return { out };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
})();
