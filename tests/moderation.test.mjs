// Moderation through the page, in headless Chromium against a real
// blob-server started with a report key, an admin token and upload proof
// of work: a sender shares (the page solves the upload work), a recipient
// reports the link with its key sealed to the operator, the operator opens
// the reported item with `blob-server admin open` and gets the original
// bytes, removes it, and the recipient's page then says it was removed;
// the transparency page counts all of it. Screenshots go to tests/out/.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { root, startServer } from './server.mjs';

const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');
const OUT = path.join(root, 'tests', 'out');
const ADMIN = path.join(root, 'target', 'debug', 'blob-server');
fs.mkdirSync(OUT, { recursive: true });

let browser;
let srv;
let keys;
let pub;
before(async () => {
  keys = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'veil-op-')), 'keys');
  const out = execFileSync(ADMIN, ['admin', 'keygen', keys], { encoding: 'utf8' });
  pub = out.match(/--report-public-key\): (\S+)/)[1];
  srv = await startServer(['--report-public-key', pub, '--admin-token-file', path.join(keys, 'admin.token'), '--upload-work', '6']);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

const admin = (...args) => execFileSync(ADMIN, ['admin', '--server', srv.base, '--token-file', path.join(keys, 'admin.token'), ...args], { encoding: 'utf8' });

async function page() {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const p = await context.newPage();
  const problems = [];
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  p.on('console', (m) => { if (m.type() === 'error' && !/status of (410|429)/.test(m.text())) problems.push(`console: ${m.text()}`); });
  context.on('request', (r) => { if (!r.url().startsWith(srv.base)) problems.push(`foreign request: ${r.url()}`); });
  return { context, page: p, problems };
}

describe('moderation through the page', () => {
  const original = fs.readFileSync(path.join(root, 'tests', 'corpus', 'MANIFEST.tsv'));

  test('report with the sealed key, the operator opens and removes, the page says so', async () => {
    // The sender: the server asks every upload for proof of work.
    const s = await page();
    await s.page.goto(`${srv.base}/`);
    await s.page.setInputFiles('#file', path.join(root, 'tests', 'corpus', 'MANIFEST.tsv'));
    await s.page.waitForSelector('#send:not([disabled])', { timeout: 120_000 });
    await s.page.fill('#password', 'tr0ub4dor');
    await s.page.click('#send');
    await s.page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: 120_000 });
    assert.equal(await s.page.isVisible('#result'), true, await s.page.textContent('#error'));
    const link = await s.page.inputValue('#link');

    // The recipient looks, then reports, key included (with the password).
    const r = await page();
    await r.page.goto(link);
    await r.page.fill('#password', 'tr0ub4dor');
    await r.page.click('#unlock');
    await r.page.waitForSelector('#contents:not([hidden])', { timeout: 120_000 });
    assert.equal(await r.page.isVisible('#abuse'), true);
    await r.page.click('#abuse summary');
    await r.page.selectOption('#abuse-category', 'phishing');
    await r.page.fill('#abuse-text', 'asks for bank details');
    assert.equal(await r.page.isChecked('#abuse-key'), true, 'the key is included by default');
    await r.page.screenshot({ path: path.join(OUT, 'report-form.png'), fullPage: true });
    await r.page.click('#abuse-send');
    await r.page.waitForFunction(() => /Thank you|not sent/.test(document.getElementById('abuse-status').textContent));
    assert.match(await r.page.textContent('#abuse-status'), /sealed key were sent/);

    // The operator: the report, its sealed key opened offline, the plaintext.
    const listed = JSON.parse(admin('list', '--json'));
    assert.equal(listed.reports.length, 1);
    const rep = listed.reports[0];
    assert.equal(rep.category, 'phishing');
    assert.equal(rep.text, 'asks for bank details');
    assert.ok(rep.key, 'the key was sealed');
    const out = path.join(path.dirname(keys), 'review');
    admin('open', rep.id, '--key-file', path.join(keys, 'report.key'), '--out', out);
    assert.ok(fs.readFileSync(path.join(out, '1.bin')).equals(original), 'the operator got the original bytes');
    assert.match(fs.readFileSync(path.join(out, 'manifest.txt'), 'utf8'), /MANIFEST\.tsv/);
    admin('remove', '--report', rep.id, '--reason', 'phishing');

    // The link now says it was removed, for a new recipient too.
    const again = await page();
    await again.page.goto(link);
    await again.page.fill('#password', 'tr0ub4dor');
    await again.page.click('#unlock');
    await again.page.waitForSelector('#error:not([hidden])', { timeout: 120_000 });
    assert.match(await again.page.textContent('#error'), /removed by the operator/);
    await again.page.screenshot({ path: path.join(OUT, 'removed.png'), fullPage: true });

    // The transparency page counts it.
    const t = await page();
    await t.page.goto(`${srv.base}/transparency`);
    await t.page.waitForFunction(() => document.getElementById('moderation').childElementCount > 0);
    const text = await t.page.textContent('main');
    assert.match(text, /Reports received\s*1/);
    assert.match(text, /Reports acted on \(removed\)\s*1/);
    assert.match(text, /Removed by the operator\s*1/);
    assert.match(text, /Uploads\s*1/);
    assert.match(text, /no addresses/);
    await t.page.screenshot({ path: path.join(OUT, 'transparency.png'), fullPage: true });
    for (const c of [s, r, again, t]) {
      assert.deepEqual(c.problems, []);
      await c.context.close();
    }
  });
});
