// Starts the debug blob-server (or $VEIL_SERVER_BIN) on 127.0.0.1:0 with a
// temporary data directory, for the node test files. Not a test itself.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Resolves to { base, dataDir, proc, stop } once the server listens.
export async function startServer(extra = []) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'veil-test-'));
  const bin = process.env.VEIL_SERVER_BIN ?? path.join(root, 'target', 'debug', 'blob-server');
  const proc = spawn(bin, ['--bind', '127.0.0.1:0', '--data-dir', dataDir, '--static-dir', path.join(root, 'web'), ...extra], {
    env: { ...process.env, VEIL_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise((resolve, reject) => {
    proc.stdout.once('data', (d) => resolve(String(d).trim().split(' ').pop()));
    proc.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  // SIGTERM, then wait: the server compacts and flushes its store on the way out.
  const stop = async () => {
    proc.kill('SIGTERM');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, dataDir, proc, stop };
}

// The most recently written ciphertext file. Blob files have random names
// (the server never names a file by its id), so tests that tamper with a
// blob take the one their upload just wrote; tests in a file run one at a time.
export function newestBlob(dataDir) {
  const dir = path.join(dataDir, 'blobs');
  const files = fs.readdirSync(dir).map((n) => path.join(dir, n));
  if (files.length === 0) throw new Error('no blob on disk');
  return files.reduce((a, b) => (fs.statSync(b).mtimeMs > fs.statSync(a).mtimeMs ? b : a));
}
