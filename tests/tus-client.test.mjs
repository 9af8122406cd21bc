// tus-js-client (a standard tus client) against the real blob-server:
// a chunked upload with Veil options, and a resume after an abort.
// Run: node --test tests/tus-client.test.mjs  (make test does, after cargo builds the server)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { root, startServer } from './server.mjs';

const require = createRequire(path.join(root, 'tools', 'package.json'));
const tus = require('tus-js-client');

let srv;
let base;

before(async () => {
  srv = await startServer();
  base = srv.base;
});

after(() => srv.stop());

const bytes = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 13) % 256));

function upload(data, options) {
  return new Promise((resolve, reject) => {
    const u = new tus.Upload(data, {
      endpoint: `${base}/api/v1/uploads`,
      chunkSize: 256 * 1024,
      retryDelays: [0, 100, 200],
      storeFingerprintForResuming: false,
      ...options,
      onSuccess: () => resolve(u),
      onError: reject,
    });
    u.start();
  });
}

test('a chunked tus upload becomes a blob with the options from Upload-Metadata', async () => {
  const data = bytes(1_000_000);
  const u = await upload(data, { metadata: { expires_in: '120', max_downloads: '1', filename: 'ignored.bin' } });
  const id = u.url.split('/').pop();
  const head = await fetch(`${base}/api/v1/blobs/${id}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('veil-downloads-left'), '1');
  const got = Buffer.from(await (await fetch(`${base}/api/v1/blobs/${id}`)).arrayBuffer());
  assert.ok(got.equals(data));
  assert.equal((await fetch(`${base}/api/v1/blobs/${id}`)).status, 404, 'burned after one read');
});

test('an aborted tus upload resumes from the server offset', async () => {
  const data = bytes(800_000);
  const first = await new Promise((resolve, reject) => {
    const u = new tus.Upload(data, {
      endpoint: `${base}/api/v1/uploads`,
      chunkSize: 200_000,
      storeFingerprintForResuming: false,
      onChunkComplete: (_size, accepted) => {
        if (accepted >= 200_000) u.abort().then(() => resolve(u));
      },
      onError: reject,
    });
    u.start();
  });
  const head = await fetch(first.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
  const offset = Number(head.headers.get('upload-offset'));
  assert.ok(offset >= 200_000 && offset < 800_000, `offset ${offset}`);
  const resumed = await upload(data, { uploadUrl: first.url });
  assert.equal(resumed.url, first.url);
  const id = first.url.split('/').pop();
  const got = Buffer.from(await (await fetch(`${base}/api/v1/blobs/${id}`)).arrayBuffer());
  assert.ok(got.equals(data));
});
