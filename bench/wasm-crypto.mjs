// Browser benchmark of the container's encryption paths in headless Chromium:
// raw WebCrypto AES-GCM (64 KiB records, 1 MiB per batch), the wasm module's
// WebCrypto-backed path (pushAsync) and its aes-gcm path (push), at 64 MiB
// and 1 GiB, median of RUNS (default 5); plus Argon2id with default params
// and the size of the wasm the page loads. Usage: node bench/wasm-crypto.mjs
import path from 'node:path';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { serve } from './static-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');

const runs = Number(process.env.RUNS ?? 5);
const chunk = Number(process.env.CHUNK ?? 1 << 20);
const sizes = (process.env.SIZES ?? `${64 << 20},${1 << 30}`).split(',').map(Number);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const web = fs.mkdtempSync('/tmp/veil-bench-');
for (const m of ['pkg-send', 'pkg-receive']) fs.symlinkSync(path.join(root, 'web', m), path.join(web, m));
fs.symlinkSync(path.join(root, 'bench'), path.join(web, 'bench'));
const server = await serve(web);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const { port } = server.address();
  await page.goto(`http://127.0.0.1:${port}/bench/crypto.html?sizes=${sizes}&runs=${runs}&chunk=${chunk}`);
  const r = await page.evaluate(() => window.benchResult);
  if (r.error) throw new Error(r.error);
  const wasm = fs.readFileSync(path.join(root, 'web', 'pkg-send', 'veil_bg.wasm'));
  const js = fs.readFileSync(path.join(root, 'web', 'pkg-send', 'veil.js'));
  console.log(`wasm: ${wasm.length} B raw, ${zlib.gzipSync(wasm, { level: 9 }).length} B gzip; glue JS ${js.length} B raw, ${zlib.gzipSync(js, { level: 9 }).length} B gzip`);
  // Everything the upload page loads (the download page loads less).
  const pageFiles = ['index.html', 'style.css', 'js/upload.js', 'js/format.js', 'js/upload-worker.js', 'js/protocol-send.js', 'js/load.js', 'js/channels.js', 'pkg-send/veil.js', 'pkg-send/veil_bg.wasm'];
  // Fetched when Send is pressed (js/upload-worker.js, tusClient).
  const tusGz = execFileSync('gzip', ['-9c', path.join(root, 'web', 'js', 'tus.js')]).length;
  // Loaded only once a link exists (not in the budget above): the QR code module.
  const qrGz = execFileSync('gzip', ['-9c', path.join(root, 'web', 'pkg-qr', 'qr_bg.wasm')]).length;
  // gzip -9, as `make wasm` reports and as a server would typically precompress.
  const pageGz = pageFiles.reduce((n, f) => n + execFileSync('gzip', ['-9c', path.join(root, 'web', f)]).length, 0);
  // Loaded only when an audio, JPEG XL, SVG or Office file is picked.
  const docsGz = execFileSync('gzip', ['-9c', path.join(root, 'web', 'pkg-formats', 'veil_bg.wasm')]).length;
  const pdfGz = execFileSync('gzip', ['-9c', path.join(root, 'web', 'pkg-pdf', 'veil_bg.wasm')]).length;
  console.log(`upload page, all ${pageFiles.length} files: ${(pageGz / 1000).toFixed(1)} KB gzipped (budget 100 KB); tus client, loaded when Send is pressed: ${(tusGz / 1000).toFixed(1)} KB; QR module, loaded after the upload: ${(qrGz / 1000).toFixed(1)} KB; formats module, loaded for audio, JPEG XL, SVG or Office files: ${(docsGz / 1000).toFixed(1)} KB; PDF module, loaded for PDFs: ${(pdfGz / 1000).toFixed(1)} KB`);
  // The download page loads the other build; the ZIP module only when several files are saved.
  const downloadFiles = ['download.html', 'style.css', 'js/download.js', 'js/format.js', 'js/download-worker.js', 'js/protocol-receive.js', 'js/load.js', 'js/channels.js', 'sw.js', 'pkg-receive/veil.js', 'pkg-receive/veil_bg.wasm'];
  const downloadGz = downloadFiles.reduce((n, f) => n + execFileSync('gzip', ['-9c', path.join(root, 'web', f)]).length, 0);
  const zipGz = execFileSync('gzip', ['-9c', path.join(root, 'web', 'pkg-zip', 'zip_bg.wasm')]).length;
  console.log(`download page, all ${downloadFiles.length} files: ${(downloadGz / 1000).toFixed(1)} KB gzipped (budget 100 KB); ZIP module, loaded to save several files: ${(zipGz / 1000).toFixed(1)} KB`);
  console.log(`crypto.subtle available: ${r.webcrypto}`);
  for (const size of sizes) {
    const m = Object.fromEntries(Object.entries(r.results[size]).map(([k, v]) => [k, median(v)]));
    const label = size >= 1 << 30 ? `${size / 2 ** 30} GiB` : `${size / 2 ** 20} MiB`;
    console.log(`${label}: WebCrypto ${m.webcrypto.toFixed(0)} MB/s | wasm+WebCrypto ${m.wasm_subtle.toFixed(0)} MB/s (${(m.wasm_subtle / m.webcrypto).toFixed(2)}x) | wasm aes-gcm ${m.wasm_aesgcm.toFixed(0)} MB/s (${(m.wasm_aesgcm / m.webcrypto).toFixed(2)}x) | decrypt wasm+WebCrypto ${m.wasm_subtle_decrypt.toFixed(0)} MB/s (${(m.wasm_subtle_decrypt / m.webcrypto).toFixed(2)}x)  [median of ${runs}]`);
  }
  console.log(`Argon2id (m=19 MiB, t=2, p=1) in the browser: median ${median(r.argonMs).toFixed(0)} ms of ${runs}`);
} finally {
  await browser.close();
  server.close();
  fs.rmSync(web, { recursive: true, force: true });
}
