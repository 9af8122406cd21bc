// Accessibility: axe-core (WCAG 2.0–2.2 A and AA rules) on each state of
// every page, in light and dark, at a laptop's and a phone's size, in
// headless Chromium against a real blob-server; each state's screenshot
// goes to tests/out/states/. Part of #14: the states covered so far are
// listed in STATES below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { root, startServer } from './server.mjs';

const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const OUT = path.join(root, 'tests', 'out', 'states');
const CORPUS = path.join(root, 'tests', 'corpus');
const GPS_JPEG = path.join(CORPUS, 'jpeg_nikon_d5000_gps_xmp_serial.jpg');
const veil = path.join(root, 'target', 'debug', 'veil');
fs.mkdirSync(OUT, { recursive: true });

const SIZES = { laptop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const THEMES = ['light', 'dark'];

let browser;
let srv;
before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  srv = await startServer();
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

// The page's CSP forbids injected script tags; axe is evaluated instead.
async function audit(page) {
  await page.evaluate(AXE);
  const r = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  }));
  return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const send = (file, extra = []) => JSON.parse(execFileSync(veil, ['send', file, '--server', srv.base, '--json', ...extra], { encoding: 'utf8' }));

// Each state: how to reach it from a fresh page. `page` is new each time.
const STATES = {
  'upload start': async (page) => {
    await page.goto(`${srv.base}/`);
    await page.waitForSelector('#expiry option', { state: 'attached' });
  },
  'upload review': async (page) => {
    await page.goto(`${srv.base}/`);
    await page.setInputFiles('#file', GPS_JPEG);
    await page.waitForSelector('#send:not([disabled])');
  },
  'upload could not clean': async (page) => {
    await page.goto(`${srv.base}/`);
    // A JPEG cut short: refused with the reason (SVG is cleaned now).
    await page.setInputFiles('#file', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A]) });
    await page.waitForSelector('#files li');
    await page.waitForTimeout(300);
  },
  'upload result': async (page) => {
    await page.goto(`${srv.base}/`);
    await page.setInputFiles('#file', GPS_JPEG);
    await page.waitForSelector('#send:not([disabled])');
    await page.click('#send');
    await page.waitForSelector('#result:not([hidden])');
  },
  'download contents': async (page) => {
    await page.goto(send(GPS_JPEG).link);
    await page.waitForSelector('#contents:not([hidden])');
  },
  'download password': async (page) => {
    const pw = path.join(srv.dataDir, 'pw');
    fs.writeFileSync(pw, 'correct horse\n');
    await page.goto(send(GPS_JPEG, ['--password-file', pw]).link);
    await page.waitForSelector('#unlock-form:not([hidden])');
  },
  'download done': async (page) => {
    await page.goto(send(GPS_JPEG).link);
    await page.waitForSelector('#contents:not([hidden])');
    await page.click('#download');
    await page.waitForSelector('#done:not([hidden])');
  },
  'download gone': async (page) => {
    const { link } = send(GPS_JPEG, ['--burn']);
    const got = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'veil-a11y-')), 'got.jpg');
    execFileSync(veil, ['get', link, '-o', got]);
    fs.rmSync(path.dirname(got), { recursive: true });
    await page.goto(link);
    await page.waitForSelector('#error:not([hidden])');
  },
    'delete page': async (page) => {
    await page.goto(send(GPS_JPEG).delete_link);
    await page.waitForSelector('#delete');
  },
  'delete confirmation': async (page) => {
    await page.goto(send(GPS_JPEG).delete_link);
    await page.click('#delete');
    await page.waitForSelector('#confirm:not([hidden])');
  },
  'download report form': async (page) => {
    await page.goto(send(GPS_JPEG).link);
    await page.waitForSelector('#contents:not([hidden])');
    await page.click('#abuse summary');
    await page.waitForSelector('#abuse-send');
  },
  'download report sent': async (page) => {
    await page.goto(send(GPS_JPEG).link);
    await page.waitForSelector('#contents:not([hidden])');
    await page.click('#abuse summary');
    await page.fill('#abuse-text', 'a test report');
    await page.click('#abuse-send');
    await page.waitForFunction(() => /Thank you|not sent/.test(document.getElementById('abuse-status').textContent));
  },
  'how it works page': async (page) => {
    await page.goto(`${srv.base}/how-it-works`);
    await page.waitForSelector('#steps-title');
  },
  'not found page': async (page) => {
    await page.goto(`${srv.base}/no-such-page`);
    await page.waitForSelector('#nf-title');
  },
  'upload password shown': async (page) => {
    await page.goto(`${srv.base}/`);
    await page.setInputFiles('#file', GPS_JPEG);
    await page.waitForSelector('#send:not([disabled])');
    await page.click('#password-generate');
  },
  'transparency page': async (page) => {
    await page.goto(`${srv.base}/transparency`);
    await page.waitForFunction(() => document.getElementById('moderation').childElementCount > 0);
  },
};

test('every state of every page passes axe-core (WCAG 2.2 A and AA) in both themes at both sizes', async () => {
  const found = [];
  for (const [name, reach] of Object.entries(STATES)) {
    for (const theme of THEMES) {
      for (const [size, viewport] of Object.entries(SIZES)) {
        const context = await browser.newContext({ colorScheme: theme, viewport, acceptDownloads: true });
        const page = await context.newPage();
        await reach(page);
        await page.screenshot({ path: path.join(OUT, `${name.replaceAll(' ', '-')}-${theme}-${size}.png`), fullPage: true });
        for (const v of await audit(page)) found.push(`${name}, ${theme}, ${size}: ${v}`);
        // Nothing is wider than the screen (a long name must wrap).
        const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (wide > 0) found.push(`${name}, ${theme}, ${size}: the page is ${wide} px wider than the screen`);
        await context.close();
      }
    }
  }
  assert.deepEqual(found, []);
});

// Presses Tab until `id` has focus (at most 40 times); returns the ids (or
// tags) focused on the way, for the record. Fails if `id` is never reached,
// or if focus lands on something invisible.
async function tabTo(page, id) {
  const path = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const e = document.activeElement;
      const r = e.getBoundingClientRect();
      return { id: e.id || e.tagName.toLowerCase(), visible: r.width > 1 && r.height > 1 };
    });
    assert.ok(at.visible, `focus went to an invisible ${at.id} (after ${path.join(' → ')})`);
    path.push(at.id);
    if (at.id === id) return path;
  }
  assert.fail(`Tab never reached #${id}: ${path.join(' → ')}`);
}

test('every page links to how it works, which says what the server cannot see', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pages = ['/', send(GPS_JPEG).link, send(GPS_JPEG).delete_link, '/transparency', '/no-such-page'];
  for (const url of pages) {
    await page.goto(url.startsWith('/') ? `${srv.base}${url}` : url);
    assert.equal(await page.locator('footer a[href="/how-it-works"]').count(), 1, `${url} has no link to how it works`);
  }
  await page.click('footer a[href="/how-it-works"]');
  await page.waitForSelector('#steps-title');
  assert.match(await page.textContent('main'), /Browsers never send that part to a server/);
  assert.match(await page.textContent('main'), /no IP address is stored/);
  await context.close();
});

test('keyboard only: a picture is chosen, sent, and opened and saved by the recipient', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${srv.base}/`);
  await page.waitForSelector('#expiry option', { state: 'attached' });
  const walk = [await tabTo(page, 'drop')];
  // The system file dialog cannot be driven by keys from here (and waiting
  // for it from Enter was flaky in CI): the files are set as the dialog would.
  await page.setInputFiles('#file', GPS_JPEG);
  await page.waitForSelector('#send:not([disabled])');
  walk.push(await tabTo(page, 'send'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#result:not([hidden])');
  // The link has focus, selected, ready to copy.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'link');
  const link = await page.inputValue('#link');
  const r = await context.newPage();
  await r.goto(link);
  await r.waitForSelector('#contents:not([hidden])');
  walk.push(await tabTo(r, 'download'));
  await r.keyboard.press('Enter');
  await r.waitForSelector('#done:not([hidden])');
  walk.push(await tabTo(r, 'save'));
  const [dl] = await Promise.all([r.waitForEvent('download'), r.keyboard.press('Enter')]);
  assert.equal(dl.suggestedFilename(), path.basename(GPS_JPEG));
  console.log(`keyboard walk: ${walk.map((w) => w.join(' → ')).join(' | ')}`);
  await context.close();
});
