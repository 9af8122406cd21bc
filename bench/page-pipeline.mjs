// Browser pipeline benchmark (headless Chromium, one run, 256 MiB):
// the page's strip+encrypt+upload (worker, WebCrypto, tus) against a plain
// unencrypted fetch upload of the same File to the same server, and the
// page's download+decrypt against a plain fetch download, as ratios.
// Usage: node bench/page-pipeline.mjs   (needs web/pkg and a release blob-server)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');
const SIZE = Number(process.env.SIZE ?? 256 << 20);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'veil-pipe-'));
const file = path.join(dataDir, 'input.bin');
const fd = fs.openSync(file, 'w');
const block = Buffer.alloc(1 << 20);
for (let i = 0; i < SIZE >> 20; i++) { block.fill(i * 7); fs.writeSync(fd, block); }
fs.closeSync(fd);
const server = spawn(path.join(root, 'target', 'release', 'blob-server'), ['--bind', '127.0.0.1:0', '--data-dir', path.join(dataDir, 'data'),
  '--static-dir', path.join(root, 'web'), '--max-blob-size', String(2 * SIZE)], { env: { ...process.env, VEIL_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => server.kill());
const base = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim().split(' ').pop())));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'] });
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error(`page: ${m.text()}`); });
  await page.goto(`${base}/`);
  await page.setInputFiles('#file', file);
  await page.waitForSelector('#send:not([disabled])');
  // Plain upload of the same File, unencrypted.
  const plain = await page.evaluate(async () => {
    const f = document.getElementById('file').files[0];
    const t0 = performance.now();
    const r = await fetch('/api/v1/blobs', { method: 'POST', body: f });
    const { id } = await r.json();
    const up = performance.now() - t0;
    const t1 = performance.now();
    const n = (await (await fetch(`/api/v1/blobs/${id}`)).arrayBuffer()).byteLength;
    return { up, down: performance.now() - t1, n };
  });
  const t0 = Date.now();
  await page.click('#send');
  await page.waitForSelector('#result:not([hidden])', { timeout: 600_000 });
  const pipeUp = Date.now() - t0;
  const link = await page.inputValue('#link');
  const r = await browser.newPage();
  // Headless Chromium's save picker cannot be answered: measure the
  // service-worker stream (browsers without the picker).
  await r.addInitScript(() => { window.showSaveFilePicker = undefined; });
  r.on('console', (m) => { if (m.type() === 'error') console.error(`page: ${m.text()}`); });
  await r.goto(link);
  const t1 = Date.now();
  // Large files stream to the browser's downloads: time until the file is complete.
  const saved = r.waitForEvent('download', { timeout: 600_000 }).then((d) => d.path());
  saved.catch(() => {}); // small files are not streamed: no download event
  await r.click('#download');
  await r.waitForSelector('#done:not([hidden]), #error:not([hidden])', { timeout: 600_000 });
  if (await r.isVisible('#error')) throw new Error(`download failed: ${await r.textContent('#error')}`);
  if (!(await r.isVisible('#save'))) await saved;
  const pipeDown = Date.now() - t1;
  const mbps = (ms) => (SIZE / 1e6 / (ms / 1000)).toFixed(0);
  console.log(`${SIZE >> 20} MiB upload: page pipeline ${(pipeUp / 1000).toFixed(2)} s (${mbps(pipeUp)} MB/s) vs plain fetch ${(plain.up / 1000).toFixed(2)} s (${mbps(plain.up)} MB/s): ratio ${(plain.up / pipeUp).toFixed(2)}`);
  console.log(`${SIZE >> 20} MiB download: page pipeline ${(pipeDown / 1000).toFixed(2)} s (${mbps(pipeDown)} MB/s) vs plain fetch ${(plain.down / 1000).toFixed(2)} s (${mbps(plain.down)} MB/s): ratio ${(plain.down / pipeDown).toFixed(2)}`);
} finally {
  await browser.close();
  server.kill();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
