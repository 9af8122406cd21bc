// Browser pipeline benchmark (headless Chromium, 256 MiB): the page's
// strip+encrypt+upload (worker, WebCrypto, tus) against a plain unencrypted
// fetch upload of the same File to the same server, and the page's
// download+decrypt against a plain fetch download, as ratios. Each run
// measures both sides back to back; RUNS runs (default 3), then medians.
// Chromium is driven over a bare DevTools connection (bench/cdp.mjs), not
// Playwright, whose per-chunk network events weigh on streamed downloads.
// Usage: [RUNS=n] [SIZE=bytes] node --experimental-websocket bench/page-pipeline.mjs
// (needs web/pkg and a release blob-server)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './cdp.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZE = Number(process.env.SIZE ?? 256 << 20);
const RUNS = Number(process.env.RUNS ?? 3);

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
const browser = await launch(path.join(dataDir, 'profile'));
const downloads = path.join(dataDir, 'downloads');
await browser.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });
// Resolves when the next download has been written completely.
const nextDownload = () => browser.event((m) => m.method === 'Browser.downloadProgress' && m.params.state !== 'inProgress')
  .then((m) => { if (m.params.state !== 'completed') throw new Error(`download ${m.params.state}`); });
const mbps = (ms) => (SIZE / 1e6 / (ms / 1000)).toFixed(0);
const line = (what, pipe, plain) => `${SIZE >> 20} MiB ${what}: page pipeline ${(pipe / 1000).toFixed(2)} s (${mbps(pipe)} MB/s) vs plain fetch ${(plain / 1000).toFixed(2)} s (${mbps(plain)} MB/s): ratio ${(plain / pipe).toFixed(2)}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const runs = [];
  for (let i = 1; i <= RUNS; i++) {
    const m = await once();
    runs.push(m);
    console.log(`run ${i}: ${line('upload', m.pipeUp, m.plainUp)}`);
    console.log(`run ${i}: ${line('download', m.pipeDown, m.plainDown)}`);
    console.log(`run ${i}: plain browser download to disk (no decryption) ${(m.plainDisk / 1000).toFixed(2)} s (${mbps(m.plainDisk)} MB/s): page pipeline / that ${(m.plainDisk / m.pipeDown).toFixed(2)}`);
  }
  const up = runs.map((m) => m.plainUp / m.pipeUp);
  const down = runs.map((m) => m.plainDown / m.pipeDown);
  const disk = runs.map((m) => m.plainDisk / m.pipeDown);
  console.log(`median of ${RUNS}: download against a plain download to disk ${median(disk).toFixed(2)} (${Math.min(...disk).toFixed(2)}–${Math.max(...disk).toFixed(2)})`);
  console.log(`median of ${RUNS}: upload ratio ${median(up).toFixed(2)} (${Math.min(...up).toFixed(2)}–${Math.max(...up).toFixed(2)}), download ratio ${median(down).toFixed(2)} (${Math.min(...down).toFixed(2)}–${Math.max(...down).toFixed(2)})`);
} finally {
  browser.close();
  server.kill();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

async function once() {
  const page = await browser.open(`${base}/`);
  await page.setInputFiles('#file', [file]);
  await page.waitFor("!document.querySelector('#send').disabled");
  // Plain upload of the same File, unencrypted, and a plain download of it.
  const plain = await page.eval(`(async () => {
    const f = document.getElementById('file').files[0];
    const t0 = performance.now();
    const r = await fetch('/api/v1/blobs', { method: 'POST', body: f });
    const { id } = await r.json();
    const up = performance.now() - t0;
    const t1 = performance.now();
    const n = (await (await fetch('/api/v1/blobs/' + id)).arrayBuffer()).byteLength;
    return { id, up, down: performance.now() - t1, n };
  })()`);
  // For context: the same file saved to disk by the browser with no page
  // code at all (an <a download> link).
  const tDisk = Date.now();
  const plainSaved = nextDownload();
  await page.eval(`(() => {
    const a = document.createElement('a');
    a.href = '/api/v1/blobs/${plain.id}';
    a.download = 'plain.bin';
    document.body.append(a);
    a.click();
    a.remove();
  })()`);
  await plainSaved;
  const plainDisk = Date.now() - tDisk;
  const pipeUp = await page.eval(`new Promise((resolve) => {
    const t0 = performance.now();
    const result = document.getElementById('result');
    new MutationObserver(() => { if (!result.hidden) resolve(performance.now() - t0); })
      .observe(result, { attributes: true });
    document.getElementById('send').click();
  })`);
  const link = await page.eval("document.getElementById('link').value");
  // The recipient has no save picker (headless Chromium's cannot be
  // answered): the service-worker stream is measured, until the file is complete.
  const r = await browser.open(link, 'window.showSaveFilePicker = undefined;');
  await r.waitFor("!document.getElementById('download').disabled");
  const t1 = Date.now();
  const saved = nextDownload();
  await r.eval("document.getElementById('download').click()");
  await Promise.race([saved, r.waitFor("!document.getElementById('error').hidden").then(async () => {
    throw new Error(`download failed: ${await r.eval("document.getElementById('error').textContent")}`);
  })]);
  const pipeDown = Date.now() - t1;
  await page.close();
  await r.close();
  fs.rmSync(downloads, { recursive: true, force: true });
  return { pipeUp, pipeDown, plainUp: plain.up, plainDown: plain.down, plainDisk };
}
