// Shares of many files through the pages, beside the same bytes as one
// file, in one run: time and peak browser memory to share (pick → link)
// and to receive (click → file on disk, through the service-worker stream,
// as in browsers without a save picker), in headless Chromium against the
// release blob-server on 127.0.0.1.
//
// Cases: 100 photos of about 3 MB (JPEG with GPS and camera tags: each is
// cleaned) beside one file of the same bytes (not media: sent as is); a
// 1 GiB folder of eight 128 MiB files beside one 1 GiB file. Memory is the
// growth of the sum of Chromium's processes (peak minus start, sampled
// every 100 ms).
// Usage: node bench/share-many.mjs   (needs web/pkg*, a release blob-server,
// ffmpeg and exiftool)   PHOTOS=100 FOLDER_MB=1024 to change the sizes.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');
const PHOTOS = Number(process.env.PHOTOS ?? 100);
const FOLDER_MB = Number(process.env.FOLDER_MB ?? 1024);
const PARTS = 8;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'veil-share-many-'));
const server = spawn(path.join(root, 'target', 'release', 'blob-server'), ['--bind', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'),
  '--static-dir', path.join(root, 'web'), '--max-blob-size', String((FOLDER_MB + 256) * 2 ** 20)], { env: { ...process.env, VEIL_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => { server.kill(); fs.rmSync(dir, { recursive: true, force: true }); });
const base = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim().split(' ').pop())));

// --- inputs
const photos = path.join(dir, 'photos');
fs.mkdirSync(photos);
// Noise compresses badly, so 2400x1600 at quality 2 is about 3 MB a frame.
execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'nullsrc=s=2400x1600,geq=random(1)*255:random(1)*255:128', '-frames:v', String(PHOTOS), '-q:v', '2', path.join(photos, 'IMG_%04d.jpg')]);
execFileSync('exiftool', ['-q', '-overwrite_original', '-Make=Canon', '-Model=Canon EOS 7D', '-SerialNumber=123456', '-GPSLatitude=48.8584', '-GPSLatitudeRef=N', '-GPSLongitude=2.2945', '-GPSLongitudeRef=E', '-DateTimeOriginal=2026:07:14 12:00:00', photos]);
const photoFiles = fs.readdirSync(photos).sort().map((n) => path.join(photos, n));
const photoBytes = photoFiles.reduce((n, f) => n + fs.statSync(f).size, 0);
const photosAsOne = path.join(dir, 'photos.bin');
// Behind a 512-byte header, as in a tar: starting with a JPEG, it would be
// taken for one picture and cleaned down to it (what follows a JPEG's end
// is removed as trailing data).
fs.writeFileSync(photosAsOne, Buffer.concat([Buffer.alloc(512), ...photoFiles.map((f) => fs.readFileSync(f))]));

const folder = path.join(dir, 'big');
fs.mkdirSync(folder);
const chunk = crypto.randomBytes(1 << 20);
const writeBig = (file, mb) => {
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < mb; i++) {
    chunk.writeUInt32BE(i, 0);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
};
for (let i = 0; i < PARTS; i++) writeBig(path.join(folder, `part-${i}.bin`), FOLDER_MB / PARTS);
const bigOne = path.join(dir, 'big.bin');
writeBig(bigOne, FOLDER_MB);

// --- measuring
function rssSum() {
  const rows = execFileSync('ps', ['-e', '-o', 'rss=,args='], { encoding: 'utf8' }).trim().split('\n');
  return rows.filter((l) => l.includes('chromium') && l.includes('playwright_chromiumdev_profile'))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0) / 1024;
}

async function measured(fn) {
  const start = rssSum();
  let peak = start;
  const timer = setInterval(() => { peak = Math.max(peak, rssSum()); }, 100);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return { seconds: (performance.now() - t0) / 1000, grew: peak - start };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'] });

// Shares `pick` (files for #file, or a folder for #folder); returns the
// link and the measure.
async function share(input, pick) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  let link;
  let ready = 0;
  const t0 = performance.now();
  const m = await measured(async () => {
    await page.setInputFiles(input, pick);
    await page.waitForSelector('#send:not([disabled])', { timeout: 600_000 });
    ready = (performance.now() - t0) / 1000;
    await page.click('#send');
    await page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: 1_200_000 });
    link = await page.inputValue('#link');
  });
  if (!link) throw new Error(`share failed: ${await page.textContent('#error')}`);
  await ctx.close();
  return { link, ready, ...m };
}

async function receive(link, expectBytes) {
  const ctx = await browser.newContext();
  await ctx.addInitScript(() => { window.showSaveFilePicker = undefined; });
  const page = await ctx.newPage();
  await page.goto(link);
  await page.waitForSelector('#contents:not([hidden])', { timeout: 120_000 });
  let size = 0;
  const m = await measured(async () => {
    // Over 64 MiB the download streams to disk (a download event while
    // decrypting); under it, the file is kept in memory for its Save button.
    const saved = page.waitForEvent('download', { timeout: 1_200_000 });
    await page.click('#download');
    await page.waitForSelector('#done:not([hidden]), #error:not([hidden])', { timeout: 1_200_000 });
    if (await page.isVisible('#save')) await page.click('#save');
    const dl = await saved;
    size = fs.statSync(await dl.path()).size;
    await dl.delete();
  });
  if (!(await page.isVisible('#done'))) throw new Error(`receive failed: ${await page.textContent('#error')}`);
  if (size < expectBytes) throw new Error(`received ${size} bytes, expected at least ${expectBytes}`);
  await ctx.close();
  return { size, ...m };
}

const mb = (n) => (n / 1e6).toFixed(0);
const rows = [];
async function pair(label, manyInput, many, one, bytes) {
  const a = await share(manyInput, many);
  const ra = await receive(a.link, 0);
  const b = await share('#file', one);
  const rb = await receive(b.link, bytes);
  rows.push([label, a, ra, b, rb]);
  console.log(`${label} (${mb(bytes)} MB):`);
  console.log(`  share:   as files ${a.seconds.toFixed(1)} s (${a.ready.toFixed(1)} s of it picking and cleaning), +${a.grew.toFixed(0)} MB; as one file ${b.seconds.toFixed(1)} s (${b.ready.toFixed(1)} s picking), +${b.grew.toFixed(0)} MB; time ratio ${(a.seconds / b.seconds).toFixed(2)}`);
  console.log(`  receive: as files (ZIP, ${mb(ra.size)} MB) ${ra.seconds.toFixed(1)} s, +${ra.grew.toFixed(0)} MB; as one file ${rb.seconds.toFixed(1)} s, +${rb.grew.toFixed(0)} MB; time ratio ${(ra.seconds / rb.seconds).toFixed(2)}`);
}

try {
  await pair(`${PHOTOS} photos of ~${mb(photoBytes / PHOTOS)} MB (cleaned) vs their bytes as one file`, '#file', photoFiles, photosAsOne, photoBytes);
  await pair(`a ${FOLDER_MB} MiB folder of ${PARTS} files vs one ${FOLDER_MB} MiB file`, '#folder', folder, bigOne, FOLDER_MB * 2 ** 20);
} finally {
  await browser.close();
  server.kill();
}
