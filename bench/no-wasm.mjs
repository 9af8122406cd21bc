// The core's JavaScript build (what pages load without WebAssembly) beside
// its WebAssembly build, in the same browser: Firefox ESR, the base of Tor
// Browser. bench/crypto.html runs in a worker: the container's encryption
// through WebCrypto (pushAsync, the page's path) and through the core's own
// aes-gcm (push, the path without crypto.subtle), decryption through
// WebCrypto, and Argon2id with the default parameters. Three runs:
//   1. Firefox, WebAssembly build;
//   2. Firefox, JavaScript build (same browser, same JIT);
//   3. Firefox at Tor Browser's "Safer" prefs (WebAssembly and the JITs
//      off), JavaScript build: what a Tor Browser user at "Safer" gets.
// Plus the size of each build. Usage: node bench/no-wasm.mjs
// (SIZE, default 64 MiB; SAFER_SIZE, default 16 MiB; RUNS, default 3).
import path from 'node:path';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { serve } from './static-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const puppeteer = require('puppeteer-core');

const runs = Number(process.env.RUNS ?? 3);
const size = Number(process.env.SIZE ?? 64 << 20);
const saferSize = Number(process.env.SAFER_SIZE ?? 16 << 20);
const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
// As Tor Browser's "Safer" level sets them (the three, plus asm.js
// and the regexp JIT, which it turns off too).
const SAFER = { 'javascript.options.wasm': false, 'javascript.options.baselinejit': false, 'javascript.options.ion': false, 'javascript.options.asmjs': false, 'javascript.options.native_regexp': false };

const web = fs.mkdtempSync('/tmp/veil-bench-');
for (const m of ['pkg-send', 'pkg-receive', 'pkg-send-js', 'pkg-receive-js']) fs.symlinkSync(path.join(root, 'web', m), path.join(web, m));
fs.symlinkSync(path.join(root, 'bench'), path.join(web, 'bench'));
const server = await serve(web);
const { port } = server.address();

async function run(prefs, query) {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true, extraPrefsFirefox: prefs });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    await page.goto(`http://127.0.0.1:${port}/bench/crypto.html?${query}`);
    const r = await page.evaluate(() => window.benchResult);
    if (r.error) throw new Error(r.error);
    return r;
  } finally {
    await browser.close();
  }
}

const gz = (dir) => {
  const files = fs.readdirSync(path.join(root, 'web', dir)).filter((f) => /\.(js|wasm)$/.test(f));
  const raw = files.reduce((n, f) => n + fs.statSync(path.join(root, 'web', dir, f)).size, 0);
  const z = files.reduce((n, f) => n + zlib.gzipSync(fs.readFileSync(path.join(root, 'web', dir, f)), { level: 9 }).length, 0);
  return `${(raw / 1000).toFixed(0)} KB (${(z / 1000).toFixed(1)} KB gzipped)`;
};
for (const [wasm, js] of [['pkg-send', 'pkg-send-js'], ['pkg-receive', 'pkg-receive-js'], ['pkg-formats', 'pkg-formats-js'], ['pkg-pdf', 'pkg-pdf-js'], ['pkg-qr', 'pkg-qr-js'], ['pkg-zip', 'pkg-zip-js']]) {
  console.log(`${wasm}: WebAssembly ${gz(wasm)}, JavaScript ${gz(js)}`);
}

try {
  const label = (n) => `${n / 2 ** 20} MiB`;
  const line = (name, r, n) => {
    const m = Object.fromEntries(Object.entries(r.results[n]).map(([k, v]) => [k, median(v)]));
    return `${name.padEnd(40)} encrypt WebCrypto ${m.wasm_subtle.toFixed(0)} MB/s | encrypt aes-gcm ${m.wasm_aesgcm.toFixed(1)} MB/s | decrypt WebCrypto ${m.wasm_subtle_decrypt.toFixed(0)} MB/s | Argon2id ${median(r.argonMs).toFixed(0)} ms`;
  };
  const wasm = await run({}, `sizes=${size}&runs=${runs}&build=wasm&skip=webcrypto`);
  const js = await run({}, `sizes=${size}&runs=${runs}&build=js&skip=webcrypto`);
  // Without a JIT the core's own aes-gcm is timed on 1 MiB only.
  const safer = await run(SAFER, `sizes=${saferSize}&runs=${runs}&build=js&skip=webcrypto,wasm_aesgcm`);
  const saferAes = await run(SAFER, `sizes=${1 << 20}&runs=1&build=js&skip=webcrypto,wasm_subtle,wasm_subtle_decrypt,argon`);
  safer.results[saferSize].wasm_aesgcm = saferAes.results[1 << 20].wasm_aesgcm;
  console.log(`Firefox ESR, ${label(size)} (Safer: ${label(saferSize)}; its aes-gcm: 1 MiB), median of ${runs}:`);
  console.log(line('WebAssembly build', wasm, size));
  console.log(line('JavaScript build', js, size));
  console.log(line('JavaScript build, "Safer" prefs (no JIT)', safer, saferSize));
} finally {
  server.close();
  fs.rmSync(web, { recursive: true, force: true });
}
