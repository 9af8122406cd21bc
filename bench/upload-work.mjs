// What the upload (and report) proof of work costs a sender in a real
// browser on this machine (docs/API.md, "Upload limits"): the page's own
// solver at each difficulty the server may ask, in Chromium and Firefox
// ESR with WebAssembly, and in Firefox at Tor Browser's "Safer" prefs
// (the JavaScript build, no JIT). Solving time is random (geometric), so
// each figure is a mean of several solves; the expected count is 2^bits
// hashes. Usage: node bench/upload-work.mjs (SAMPLES, default 8;
// SAFER_BITS, default 8,12,14: higher levels there take minutes, given
// by the measured rate).
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { serve } from './static-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const puppeteer = require('puppeteer-core');
const { chromium } = require('playwright-core');
const samples = Number(process.env.SAMPLES ?? 8);
const SAFER = { 'javascript.options.wasm': false, 'javascript.options.baselinejit': false, 'javascript.options.ion': false, 'javascript.options.asmjs': false, 'javascript.options.native_regexp': false };

const web = fs.mkdtempSync('/tmp/veil-work-bench-');
for (const e of fs.readdirSync(path.join(root, 'web'))) fs.symlinkSync(path.join(root, 'web', e), path.join(web, e));
fs.symlinkSync(path.join(root, 'bench'), path.join(web, 'bench'));
const server = await serve(web);
const url = (bits) => `http://127.0.0.1:${server.address().port}/bench/upload-work.html?bits=${bits}&samples=${samples}`;

async function inFirefox(prefs, bits) {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true, extraPrefsFirefox: prefs });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    await page.goto(url(bits));
    return await page.evaluate(() => window.benchResult);
  } finally {
    await browser.close();
  }
}

async function inChromium(bits) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(url(bits));
    return await page.evaluate(() => window.benchResult);
  } finally {
    await browser.close();
  }
}

function report(name, r) {
  if (r.error) throw new Error(`${name}: ${r.error}`);
  for (const { bits, n, mean, max } of r.out) {
    const rate = (2 ** bits) / (mean / 1000);
    console.log(`upload work, ${name}: ${bits} bits: mean ${mean < 1000 ? `${mean.toFixed(0)} ms` : `${(mean / 1000).toFixed(1)} s`} over ${n} solves (slowest ${(max / 1000).toFixed(2)} s), ~${(rate / 1000).toFixed(0)}k hashes/s`);
  }
  const last = r.out.at(-1);
  return (2 ** last.bits) / (last.mean / 1000);
}

try {
  report('Chromium, WebAssembly', await inChromium('8,12,14,16,18,20'));
  report('Firefox ESR, WebAssembly', await inFirefox({}, '8,12,14,16,18,20'));
  const rate = report('Firefox ESR at Tor Browser "Safer" (JavaScript build)', await inFirefox(SAFER, process.env.SAFER_BITS ?? '8,12,14'));
  for (const bits of [16, 18, 20]) {
    console.log(`upload work, Firefox "Safer": ${bits} bits expected ${((2 ** bits) / rate).toFixed(0)} s at the rate measured above`);
  }
} finally {
  server.close();
}
