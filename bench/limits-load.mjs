// The upload limits under a bounded load (docs/API.md, "Upload limits"):
// the release blob-server with --uploads-per-minute 60, --quota 64 MiB and
// --upload-work 8; 40 concurrent clients each try 15 uploads of 256 KiB
// (600 in all) through tus creation, solving the work the server asks
// (node's own SHA-256), while one "honest" client uploads once every 2 s.
// Prints how many were admitted (must be at most the rate), what the
// refused were told (status, Retry-After), the bits asked as load rose,
// and the honest client's experience. Usage: node bench/limits-load.mjs
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.BLOB_SERVER ?? path.join(root, 'target', 'release', 'blob-server');
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'veil-limits-'));
const proc = spawn(bin, ['--bind', '127.0.0.1:0', '--data-dir', data, '--static-dir', path.join(root, 'web'),
  '--uploads-per-minute', '60', '--quota', String(64 << 20), '--upload-work', '8'], { env: { ...process.env, VEIL_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve) => proc.stdout.once('data', (d) => resolve(String(d).trim().split(' ').pop())));

// The work's hash (docs/API.md): SHA-256("veil/v1 work" 0 C 0 "upload" 0 n_be64).
function solve(challenge, bits) {
  const prefix = Buffer.concat([Buffer.from('veil/v1 work\0'), Buffer.from(challenge), Buffer.from('\0upload\0')]);
  const n = Buffer.alloc(8);
  for (let i = 0n; ; i++) {
    n.writeBigUInt64BE(i);
    const d = createHash('sha256').update(prefix).update(n).digest();
    let z = 0;
    for (const b of d) {
      if (b === 0) { z += 8; continue; }
      z += Math.clz32(b) - 24;
      break;
    }
    if (z >= bits) return i;
  }
}

const SIZE = 256 << 10;
const body = Buffer.alloc(SIZE, 7);
async function uploadOnce() {
  const headers = { 'tus-resumable': '1.0.0', 'upload-length': String(SIZE), 'content-type': 'application/offset+octet-stream' };
  let r = await fetch(`${base}/api/v1/uploads`, { method: 'POST', headers, body });
  let bits = 0;
  const challenge = r.status === 429 ? r.headers.get('veil-work-challenge') : null;
  if (challenge) {
    bits = Number(r.headers.get('veil-work-bits'));
    r = await fetch(`${base}/api/v1/uploads`, { method: 'POST', headers: { ...headers, 'veil-work': `${challenge} ${solve(challenge, bits)}` }, body });
  }
  const retry = r.headers.get('retry-after');
  const text = r.status === 201 ? '' : (await r.json().catch(() => ({}))).error;
  return { status: r.status, bits, retry: retry ? Number(retry) : null, text };
}

const t0 = performance.now();
const results = [];
const honest = [];
let stop = false;
const honestLoop = (async () => {
  while (!stop) {
    const t = performance.now();
    const r = await uploadOnce();
    honest.push({ ...r, ms: performance.now() - t });
    await new Promise((res) => setTimeout(res, 2000));
  }
})();
await Promise.all(Array.from({ length: 40 }, async () => {
  for (let i = 0; i < 15; i++) results.push(await uploadOnce());
}));
stop = true;
await honestLoop;
const secs = (performance.now() - t0) / 1000;
const by = (xs) => xs.reduce((m, r) => m.set(r.status, (m.get(r.status) ?? 0) + 1), new Map());
const admitted = results.filter((r) => r.status === 201).length;
const bitsSeen = [...new Set(results.map((r) => r.bits).filter(Boolean))].sort((a, b) => a - b);
const waits = results.filter((r) => r.retry != null).map((r) => r.retry);
console.log(`limits under load: 600 uploads by 40 clients in ${secs.toFixed(1)} s: ${[...by(results)].map(([s, n]) => `${n}× ${s}`).join(', ')}; admitted ${admitted} (rate 60/min${secs < 60 ? ', one window' : ''})`);
console.log(`limits under load: work asked ${bitsSeen.join(', ')} bits as load rose; refused answers carried Retry-After ${waits.length ? `${Math.min(...waits)}–${Math.max(...waits)} s` : 'none'}; message: "${results.find((r) => r.status === 503)?.text ?? ''}"`);
console.log(`limits under load: honest client, one upload every 2 s: ${[...by(honest)].map(([s, n]) => `${n}× ${s}`).join(', ')}; each told ${[...new Set(honest.filter((h) => h.status !== 201).map((h) => `${h.status} "${h.text}" retry ${h.retry} s`))].join('; ') || 'nothing (all admitted)'}; median ${honest.map((h) => h.ms).sort((a, b) => a - b)[Math.floor(honest.length / 2)]?.toFixed(0)} ms per attempt`);
const used = fs.readdirSync(path.join(data, 'uploads')).length;
console.log(`limits under load: unfinished uploads on disk ${used} (quota 64 MiB = ${(64 << 20) / SIZE} of these)`);
proc.kill('SIGTERM');
await new Promise((r) => proc.once('exit', r));
fs.rmSync(data, { recursive: true, force: true });
if (admitted > 60 * Math.ceil(secs / 60) + 0) process.exitCode = 1;
