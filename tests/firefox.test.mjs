// The core flows in Firefox ESR (the base of Tor Browser), driven by
// puppeteer-core over WebDriver BiDi, against a real blob-server on
// 127.0.0.1:0. Three variants, each its own browser:
// - Firefox as installed;
// - Tor Browser's "Safer" level: WebAssembly and the JITs off, so the pages
//   run the JavaScript build of the core (js/load.js);
// - service workers off (as in private windows): large downloads are
//   assembled in memory instead of streamed to disk.
// Each recipient is a fresh browser context (its own cookies and storage,
// as a fresh profile). Downloads land in a folder of the test's own.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { newestBlob, root, startServer } from './server.mjs';

const require = createRequire(path.join(root, 'tools', 'package.json'));
const puppeteer = require('puppeteer-core');
const CORPUS = path.join(root, 'tests', 'corpus');
const GPS_JPEG = path.join(CORPUS, 'jpeg_nikon_d5000_gps_xmp_serial.jpg');
const veil = path.join(root, 'target', 'debug', 'veil');
const LONG = Math.max(300_000, (Number(process.env.FF_BIG_MB) || 0) * 600);
// The large round trip's size; FF_BIG_MB=N runs it at N MiB instead
// (how the closing figures for the largest file were measured).
const BIG_MB = Number(process.env.FF_BIG_MB ?? 300);

// As Tor Browser's "Safer" level sets them (the three, plus asm.js
// and the regexp JIT, which it turns off too).
const SAFER = { 'javascript.options.wasm': false, 'javascript.options.baselinejit': false, 'javascript.options.ion': false, 'javascript.options.asmjs': false, 'javascript.options.native_regexp': false };
const VARIANTS = [
  { name: 'Firefox', prefs: {}, wasm: true, serviceWorker: true },
  { name: 'Firefox at Tor Browser’s “Safer” prefs (no WebAssembly, no JIT)', prefs: SAFER, wasm: false, serviceWorker: true },
  { name: 'Firefox without service workers', prefs: { 'dom.serviceWorkers.enabled': false }, wasm: true, serviceWorker: false },
];

// `veil strip` of a picture: what the recipient must get.
function stripped(file) {
  const out = path.join(os.tmpdir(), `veil-ff-strip-${process.pid}${path.extname(file)}`);
  execFileSync(veil, ['strip', file, '-o', out], { stdio: 'pipe' });
  const bytes = fs.readFileSync(out);
  fs.rmSync(out);
  return bytes;
}

// The proof of work of docs/API.md ("Wrong proofs"), written from its text:
// the first n whose SHA-256 begins with `bits` zero bits.
function solve(id, proof, bits) {
  const prefix = Buffer.concat([Buffer.from('veil/v1 work'), Buffer.from([0]), Buffer.from(id), Buffer.from([0]), Buffer.from(proof), Buffer.from([0])]);
  const n = Buffer.alloc(8);
  for (let i = 0n; ; i++) {
    n.writeBigUInt64BE(i);
    const lead = createHash('sha256').update(prefix).update(n).digest().readUInt32BE(0);
    if (lead >>> (32 - bits) === 0) return i;
  }
}

// Streamed: files past 2 GiB cannot be read whole.
async function sha256(file) {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk);
  return h.digest('hex');
}

// FF_ONLY=REGEX runs only the variants whose name matches it.
for (const variant of VARIANTS.filter((v) => new RegExp(process.env.FF_ONLY ?? '').test(v.name))) {
  describe(variant.name, () => {
    let srv;
    let browser;
    let downloads;
    before(async () => {
      // Room for the container's padding (the page keeps files within 88 % of it).
      srv = await startServer(['--max-blob-size', String(Math.ceil(BIG_MB * 1.25 + 100) * 2 ** 20)]);
      downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'veil-ff-dl-'));
      browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath: '/usr/bin/firefox-esr',
        headless: true,
        extraPrefsFirefox: {
          ...variant.prefs,
          // Downloads go to our folder without asking.
          'browser.download.folderList': 2,
          'browser.download.dir': downloads,
          'browser.download.useDownloadDir': true,
          'browser.download.always_ask_before_handling_new_types': false,
          'browser.download.start_downloads_in_tmp_dir': false,
          'browser.download.alwaysOpenPanel': false,
        },
      });
    });
    after(async () => {
      await browser?.close();
      await srv?.stop();
      if (downloads) fs.rmSync(downloads, { recursive: true, force: true });
    });

    // A fresh context (a fresh profile's worth of state) and its first
    // page, with every console error, page error and foreign request kept.
    async function fresh() {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const problems = [];
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => { const u = r.url(); if (!u.startsWith(srv.base) && !u.startsWith('blob:') && !u.startsWith('data:')) problems.push(`foreign request: ${u}`); });
      return { context, page, problems };
    }

    const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
    const visible = (page, sel) => page.$eval(sel, (e) => !e.hidden && !e.closest('[hidden]'));

    async function share(file, { password, burn } = {}) {
      const s = await fresh();
      await s.page.goto(`${srv.base}/`);
      assert.equal(await s.page.evaluate(() => typeof WebAssembly), variant.wasm ? 'object' : 'undefined');
      assert.equal(await visible(s.page, '#no-wasm'), !variant.wasm, 'the no-WebAssembly note');
      const input = await s.page.$('#file');
      await input.uploadFile(file);
      await s.page.waitForSelector('#send:not([disabled])', { timeout: LONG });
      const report = await text(s.page, '#files');
      if (burn) await s.page.click('#burn');
      if (password) await s.page.type('#password', password);
      await s.page.click('#send');
      await s.page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: LONG });
      assert.equal(await visible(s.page, '#result'), true, await text(s.page, '#error'));
      const link = await s.page.$eval('#link', (e) => e.value);
      await s.context.close();
      assert.deepEqual(s.problems, []);
      return { link, report };
    }

    // Opens the link in a fresh context; with a password, typed and
    // submitted. Ends with the contents listed, or an error.
    async function open(link, password) {
      const r = await fresh();
      await r.page.goto(link);
      if (password) {
        await r.page.waitForSelector('#unlock-form:not([hidden])');
        await r.page.type('#password', password);
        await r.page.click('#unlock');
      }
      await r.page.waitForSelector('#contents:not([hidden]), #error:not([hidden])', { timeout: LONG });
      return r;
    }

    // Downloads what the page shows and waits for the file `name` to be
    // complete in the downloads folder (Firefox writes NAME.part first).
    async function download(r, name) {
      const target = path.join(downloads, name);
      fs.rmSync(target, { force: true });
      await r.page.click('#download');
      await r.page.waitForSelector('#done:not([hidden]), #error:not([hidden])', { timeout: LONG });
      assert.equal(await visible(r.page, '#done'), true, await text(r.page, '#error'));
      // Small files (and every file without a service worker) are offered
      // with a Save button; large ones were streamed already.
      if (await visible(r.page, '#save')) await r.page.click('#save');
      const deadline = Date.now() + LONG;
      while (!(fs.existsSync(target) && !fs.readdirSync(downloads).some((f) => f.endsWith('.part')))) {
        assert.ok(Date.now() < deadline, `${name} never finished downloading`);
        await new Promise((ok) => setTimeout(ok, 200));
      }
      return target;
    }

    test('a GPS-tagged photo is cleaned, shared, and opened in a fresh profile exactly as veil strip makes it', async () => {
      const { link, report } = await share(GPS_JPEG);
      assert.match(report, /GPS position/);
      assert.match(link, new RegExp(`^${srv.base}/d/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$`));
      const r = await open(link);
      assert.equal(await visible(r.page, '#no-wasm'), !variant.wasm);
      const saved = await download(r, path.basename(GPS_JPEG));
      assert.ok(fs.readFileSync(saved).equals(stripped(GPS_JPEG)), 'the download is not the cleaned picture');
      const tags = execFileSync('exiftool', ['-a', '-G1', '-s', '-gps:all', '-Make', '-Model', '-SerialNumber', saved], { encoding: 'utf8' });
      assert.equal(tags.trim(), '', `left in the download:\n${tags}`);
      assert.deepEqual(r.problems, []);
      await r.context.close();
    });

    test('a wrong password fails without consuming; the right one opens; the burned link is then gone', async () => {
      const { link } = await share(path.join(CORPUS, 'png_gimp_time_gama_bkgd_comment.png'), { password: 'correct horse', burn: true });
      const r = await open(link, 'wrong horse');
      assert.match(await text(r.page, '#error'), /Wrong password/);
      await r.page.$eval('#password', (e) => { e.value = ''; });
      await r.page.type('#password', 'correct horse');
      await r.page.click('#unlock');
      await r.page.waitForSelector('#contents:not([hidden])', { timeout: LONG });
      const saved = await download(r, 'png_gimp_time_gama_bkgd_comment.png');
      assert.ok(fs.readFileSync(saved).equals(stripped(path.join(CORPUS, 'png_gimp_time_gama_bkgd_comment.png'))));
      assert.deepEqual(r.problems, []);
      await r.context.close();
      const again = await open(link, 'correct horse');
      assert.match(await text(again.page, '#error'), /gone/);
      await again.context.close();
    });

    test('a burn-after-reading link opened twice at once: one recipient gets it, the other is told it is gone', async () => {
      const { link } = await share(path.join(CORPUS, 'MANIFEST.tsv'), { burn: true });
      const [a, b] = await Promise.all([open(link), open(link)]);
      // Both see the list (looking consumes nothing); then both ask at once.
      await Promise.all([a, b].map((r) => r.page.click('#download')));
      const outcome = async (r) => {
        await r.page.waitForSelector('#done:not([hidden]), #error:not([hidden])', { timeout: LONG });
        return (await visible(r.page, '#done')) ? 'done' : await text(r.page, '#error');
      };
      const results = await Promise.all([a, b].map(outcome));
      assert.equal(results.filter((x) => x === 'done').length, 1, results.join(' | '));
      assert.match(results.find((x) => x !== 'done'), /gone/);
      for (const r of [a, b]) await r.context.close();
    });

    test('a tampered blob is reported as damaged, and nothing is saved', async () => {
      const { link } = await share(path.join(CORPUS, 'gif_xmp_icc_comment.gif'));
      const blob = newestBlob(srv.dataDir);
      const bytes = fs.readFileSync(blob);
      bytes[bytes.length - 20] ^= 0x01;
      fs.writeFileSync(blob, bytes);
      const r = await open(link);
      await r.page.click('#download');
      await r.page.waitForSelector('#done:not([hidden]), #error:not([hidden])', { timeout: LONG });
      assert.match(await text(r.page, '#error'), /damaged/);
      assert.equal(await visible(r.page, '#save'), false);
      assert.equal(fs.existsSync(path.join(downloads, 'gif_xmp_icc_comment.gif')), false);
      await r.context.close();
    });

    // Without a JIT, hashing a password blocks the upload worker for ~20 s:
    // a Cancel pressed meanwhile must still win, before any upload exists.
    test('Cancel while the password is being hashed: cancelled, and nothing reaches the server', { skip: variant.wasm }, async () => {
      const s = await fresh();
      await s.page.goto(`${srv.base}/`);
      await (await s.page.$('#file')).uploadFile(path.join(CORPUS, 'MANIFEST.tsv'));
      await s.page.waitForSelector('#send:not([disabled])', { timeout: LONG });
      await s.page.type('#password', 'correct horse');
      await s.page.click('#send');
      await s.page.waitForFunction(() => /Hashing the password/.test(document.getElementById('status').textContent));
      await s.page.click('#cancel');
      await s.page.waitForSelector('#error:not([hidden])', { timeout: LONG });
      assert.match(await text(s.page, '#error'), /Cancelled/);
      assert.equal(await visible(s.page, '#review'), true);
      const uploads = path.join(srv.dataDir, 'uploads');
      assert.deepEqual(fs.existsSync(uploads) ? fs.readdirSync(uploads) : [], [], 'an upload was created');
      assert.deepEqual(s.problems, []);
      await s.context.close();
    });

    // After wrong guesses the server asks every attempt for work
    // (docs/API.md, "Wrong proofs"); without a JIT that takes a while, and
    // the recipient is told why they wait.
    test('after wrong guesses by others, the recipient is told why the look takes long, then gets the file', { skip: variant.wasm }, async () => {
      const out = JSON.parse(execFileSync(veil, ['send', GPS_JPEG, '--server', srv.base, '--json'], { encoding: 'utf8' }));
      const id = new URL(out.link).pathname.split('/').pop();
      // Eight wrong proofs: five free, then with the work asked for each.
      let bits = 0;
      for (let i = 0; i < 8; i++) {
        const proof = Buffer.from(createHash('sha256').update(`guess ${i}`).digest()).toString('base64url');
        const headers = { 'veil-proof': proof };
        if (bits) headers['veil-work'] = String(solve(id, proof, bits));
        const r = await fetch(`${srv.base}/api/v1/blobs/${id}/head`, { headers });
        if (r.status === 429) { i--; bits = Number(r.headers.get('veil-work-bits')); continue; }
        assert.equal(r.status, 403, `guess ${i}`);
        bits = 0;
      }
      // The next attempt, any attempt, must now carry work (a 429 checks nothing).
      const probe = await fetch(`${srv.base}/api/v1/blobs/${id}/head`, { headers: { 'veil-proof': 'A'.repeat(43) } });
      assert.equal(probe.status, 429);
      assert.ok(Number(probe.headers.get('veil-work-bits')) >= 14, `the server asks for ${probe.headers.get('veil-work-bits')} bits`);
      const r = await fresh();
      await r.page.goto(out.link);
      // Said while the work is done (a few seconds at 14 bits without a JIT).
      await r.page.waitForFunction(() => /Someone tried wrong passwords on this link/.test(document.getElementById('ask-note').textContent), { polling: 50, timeout: LONG });
      await r.page.waitForSelector('#contents:not([hidden]), #error:not([hidden])', { timeout: LONG });
      assert.equal(await visible(r.page, '#contents'), true, await text(r.page, '#error'));
      const saved = await download(r, path.basename(GPS_JPEG));
      assert.ok(fs.readFileSync(saved).equals(stripped(GPS_JPEG)));
      assert.deepEqual(r.problems, []);
      await r.context.close();
    });

    test(`a ${BIG_MB} MiB file makes the round trip intact`, { timeout: 60 * 60_000 }, async () => {
      const big = path.join(os.tmpdir(), `veil-ff-big-${process.pid}.bin`);
      const fd = fs.openSync(big, 'w');
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < BIG_MB; i++) {
        chunk.fill(i % 251);
        chunk.writeUInt32LE(i, 0);
        fs.writeSync(fd, chunk);
      }
      fs.closeSync(fd);
      try {
        const started = Date.now();
        const { link } = await share(big);
        const up = (Date.now() - started) / 1000;
        const r = await open(link);
        const save = await text(r.page, '#save-way');
        const down0 = Date.now();
        const saved = await download(r, path.basename(big));
        const down = (Date.now() - down0) / 1000;
        assert.equal(fs.statSync(saved).size, BIG_MB * 2 ** 20);
        assert.equal(await sha256(saved), await sha256(big), 'downloaded bytes differ');
        console.log(`${variant.name}: ${BIG_MB} MiB up ${up.toFixed(1)} s, down ${down.toFixed(1)} s (${save.trim()})`);
        assert.deepEqual(r.problems, []);
        await r.context.close();
        fs.rmSync(saved);
      } finally {
        fs.rmSync(big, { force: true });
      }
    });
  });
}
