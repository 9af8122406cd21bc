// The upload page's own tus client (web/js/tus.js) against the real
// blob-server: after a PATCH is cut off, it asks the server for its offset
// and resends only the rest of the chunk, and the blob is exactly the data.
// Node has fetch and Blob; paths are resolved against the server the way a
// page resolves them against its origin.
// Run: node --test tests/page-tus.test.mjs  (make test does, after cargo builds the server)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { initSync } from '../web/pkg-send/veil.js';
import { root, startServer } from './server.mjs';

// The client takes the protocol from the wasm module; in node it is
// instantiated from the file first (the page fetches it).
initSync({ module: fs.readFileSync(path.join(root, 'web/pkg-send/veil_bg.wasm')) });
const { createUpload, sendChunk } = await import('../web/js/tus.js');
await (await import('../web/js/protocol-send.js')).ready;

const realFetch = globalThis.fetch;
let srv;
let base;
let cut = null; // (url, init) => Promise<never> | null: replaces the next PATCH

before(async () => {
  srv = await startServer();
  base = srv.base;
  globalThis.fetch = (url, init) => {
    const absolute = new URL(url, base);
    if (cut && init?.method === 'PATCH') {
      const once = cut;
      cut = null;
      return once(absolute, init);
    }
    return realFetch(absolute, init);
  };
});

after(async () => {
  globalThis.fetch = realFetch;
  await srv.stop();
});

const bytes = (n) => new Uint8Array(Array.from({ length: n }, (_, i) => (i * 31 + 7) % 256));

test('a PATCH cut off half way is resumed from the server offset, not resent whole', async () => {
  const data = bytes(600_000);
  const upload = await createUpload(data.length, { expiresIn: 120 });
  const sent = [];
  // The connection drops after half the chunk reached the server: the
  // server keeps that half, the client only sees a network error.
  cut = async (url, init) => {
    const half = init.body.slice(0, init.body.size / 2);
    const r = await realFetch(url, { ...init, body: half });
    assert.equal(r.status, 204);
    throw new TypeError('network error');
  };
  const spy = globalThis.fetch;
  globalThis.fetch = (url, init) => {
    if (init?.method === 'PATCH') sent.push({ offset: Number(new Headers(init.headers).get('Upload-Offset')), size: init.body.size });
    return spy(url, init);
  };
  const retries = [];
  try {
    await sendChunk(upload, new Blob([data]), undefined, (n) => retries.push(n));
  } finally {
    globalThis.fetch = spy;
  }
  assert.deepEqual(retries, [1]);
  assert.deepEqual(sent, [{ offset: 0, size: 600_000 }, { offset: 300_000, size: 300_000 }]);
  assert.equal(upload.offset, data.length);
  const got = new Uint8Array(await (await realFetch(`${base}/api/v1/blobs/${upload.id}`)).arrayBuffer());
  assert.deepEqual(got, data);
});

test('a chunk the server refuses is not retried', async () => {
  const upload = await createUpload(10, {});
  await assert.rejects(
    sendChunk(upload, new Blob([bytes(11)]), undefined, () => assert.fail('retried')),
    (e) => e.status === 413 || e.status === 400,
  );
});

test('a stale offset gets 409; the client asks the server and sends only the rest', async () => {
  const data = bytes(1000);
  const upload = await createUpload(data.length, {});
  // Another attempt already delivered the first 400 bytes.
  const first = await realFetch(new URL(upload.url, base), {
    method: 'PATCH',
    headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    body: data.slice(0, 400),
  });
  assert.equal(first.status, 204);
  const sent = [];
  const spy = globalThis.fetch;
  globalThis.fetch = (url, init) => {
    if (init?.method === 'PATCH') sent.push(Number(new Headers(init.headers).get('Upload-Offset')));
    return spy(url, init);
  };
  try {
    await sendChunk(upload, new Blob([data]), undefined, () => {});
  } finally {
    globalThis.fetch = spy;
  }
  assert.deepEqual(sent, [0, 400]);
  const got = new Uint8Array(await (await realFetch(`${base}/api/v1/blobs/${upload.id}`)).arrayBuffer());
  assert.deepEqual(got, data);
});
