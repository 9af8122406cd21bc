// Browser memory benchmark: uploads and downloads files of several sizes
// (default 100, 300 and 900 MB) through the pages in headless Chromium and
// prints how much each Chromium process's resident memory grew (peak minus
// start, sampled every 100 ms). Memory that stays flat grows by about the
// same amount whatever the file size.
// Usage: node bench/page-memory.mjs   (needs web/pkg and a release blob-server)
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');
const SIZES_MB = (process.env.SIZES_MB ?? '100,300,900').split(',').map(Number);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'veil-memory-'));
const server = spawn(path.join(root, 'target', 'release', 'blob-server'), ['--bind', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'),
  '--static-dir', path.join(root, 'web'), '--max-blob-size', String(2 * Math.max(...SIZES_MB) * 2 ** 20)], { env: { ...process.env, VEIL_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => { server.kill(); fs.rmSync(dir, { recursive: true, force: true }); });
const base = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim().split(' ').pop())));

// Resident MB of each process of this Chromium, keyed by its role and pid.
function processes() {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,rss=,args='], { encoding: 'utf8' }).trim().split('\n');
  const out = {};
  for (const row of rows.filter((l) => l.includes('chromium') && l.includes('playwright_chromiumdev_profile'))) {
    const [pid, rss] = row.trim().split(/\s+/);
    const role = row.match(/--utility-sub-type=(\S+)/)?.[1] ?? row.match(/--type=(\S+)/)?.[1] ?? 'browser';
    out[`${role} ${pid}`] = Number(rss) / 1024;
  }
  return out;
}

// Runs `fn`, returns the largest growth of one process and of the sum.
async function growth(fn) {
  const start = processes();
  const peak = { ...start };
  let sumPeak = 0;
  const timer = setInterval(() => {
    const now = processes();
    for (const [k, v] of Object.entries(now)) peak[k] = Math.max(peak[k] ?? 0, v);
    sumPeak = Math.max(sumPeak, Object.values(now).reduce((a, b) => a + b, 0));
  }, 100);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  const grown = Object.entries(peak).map(([k, v]) => [k, v - (start[k] ?? 0)]).sort((a, b) => b[1] - a[1]);
  const sumStart = Object.values(start).reduce((a, b) => a + b, 0);
  return { top: grown.slice(0, 2).map(([k, v]) => `${k.split(' ')[0]} +${v.toFixed(0)}`).join(', '), sum: sumPeak - sumStart };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'] });
try {
  for (const mb of SIZES_MB) {
    const file = path.join(dir, `${mb}mb.bin`);
    const fd = fs.openSync(file, 'w');
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < mb; i++) { block.fill(i); fs.writeSync(fd, block); }
    fs.closeSync(fd);
    const sender = await browser.newContext();
    const page = await sender.newPage();
    await page.goto(`${base}/`);
    let link;
    const up = await growth(async () => {
      await page.setInputFiles('#file', file);
      await page.waitForSelector('#send:not([disabled])');
      await page.click('#send');
      await page.waitForSelector('#result:not([hidden])', { timeout: 600_000 });
      link = await page.inputValue('#link');
    });
    await sender.close();
    const recipient = await browser.newContext();
    // Headless Chromium's save picker cannot be answered: measure the
    // service-worker stream (browsers without the picker).
    await recipient.addInitScript(() => { window.showSaveFilePicker = undefined; });
    const r = await recipient.newPage();
    await r.goto(link);
    const down = await growth(async () => {
      const saved = r.waitForEvent('download', { timeout: 600_000 });
      await r.click('#download');
      await (await saved).path();
      await r.waitForSelector('#done:not([hidden])', { timeout: 600_000 });
    });
    await recipient.close();
    fs.rmSync(file);
    console.log(`${mb} MB: upload sum of processes +${up.sum.toFixed(0)} MB (largest: ${up.top}); download +${down.sum.toFixed(0)} MB (largest: ${down.top})`);
  }
} finally {
  await browser.close();
  server.kill();
}
