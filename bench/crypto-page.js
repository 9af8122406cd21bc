// Starts the benchmark worker and exposes its result to the driver.
const params = new URLSearchParams(location.search);
const sizes = params.get('sizes').split(',').map(Number);
const runs = Number(params.get('runs'));
const chunkSize = Number(params.get('chunk') || 0);
const build = params.get('build') || 'wasm';
const skip = (params.get('skip') || '').split(',');
window.benchResult = new Promise((resolve) => {
  const w = new Worker('/bench/crypto-worker.js', { type: 'module' });
  w.onmessage = (e) => resolve(e.data);
  w.onerror = (e) => resolve({ error: e.message });
  w.postMessage({ sizes, runs, chunkSize, build, skip });
});
