// The upload and download pipelines, off the main thread. Files are read in
// slices; pictures are cleaned in memory (the stripper needs the whole
// image); everything is encrypted by the wasm module (through WebCrypto
// where available) and sent with tus; downloads are decrypted as they
// stream in. The key never leaves this worker and the page.
import init, { Key, Encryptor, Decryptor, newLink, stripMetadata, sniffType, qrSvg } from '/pkg/veil.js';
import { createUpload, sendChunk, terminate, TusError } from '/js/tus.js';

const SLICE = 4 << 20; // bytes read and encrypted per step
const CHUNK = 8 << 20; // bytes per PATCH
const MAX_STRIP = 512 << 20; // larger media are sent only if the user accepts them unmodified

const ready = init();
let prepared = null; // { bytes: Uint8Array|null, file, name, type, report }
let controller = null;

// `type` names the message; payloads never use that key (see `mime`).
const post = (type, data = {}) => self.postMessage({ ...data, type });

self.onmessage = async ({ data }) => {
  try {
    await ready;
    if (data.type === 'prepare') await prepare(data.file);
    else if (data.type === 'send') await send(data.options, data.unmodified);
    else if (data.type === 'cancel') controller?.abort();
    else if (data.type === 'download') await download(data);
  } catch (e) {
    post('error', { message: e?.message ?? String(e), code: e?.code ?? 'error' });
  }
};

async function prepare(file) {
  prepared = null;
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
  const sniffed = sniffType(head);
  const claimsMedia = /^(image|video)\//.test(file.type);
  if (!sniffed && !claimsMedia) {
    prepared = { bytes: null, file, name: file.name, type: file.type || 'application/octet-stream', lines: ['not an image: sent as is'] };
    post('prepared', { media: false, name: file.name, size: file.size });
    return;
  }
  if (file.size > MAX_STRIP) {
    prepared = { bytes: null, file, name: file.name, type: sniffed ?? file.type, lines: ['not cleaned: too large to clean in the browser'] };
    post('strip-failed', { name: file.name, size: file.size, reason: 'This file is too large to clean in the browser.' });
    return;
  }
  post('progress', { phase: 'Cleaning', done: 0, total: file.size });
  const bytes = new Uint8Array(await file.arrayBuffer());
  let result;
  try {
    result = stripMetadata(bytes, file.type || undefined);
  } catch (e) {
    prepared = { bytes: null, file, name: file.name, type: sniffed ?? file.type, lines: ['not cleaned: ' + e.message] };
    post('strip-failed', { name: file.name, size: file.size, reason: e.message });
    return;
  }
  prepared = { bytes: result.data, file, name: file.name, type: result.type, lines: result.lines };
  post('prepared', { media: true, name: file.name, size: result.data.length, format: result.format, removed: result.removed, kept: result.kept });
}

async function* slices(source, size) {
  for (let at = 0; at < size; at += SLICE) {
    if (source.bytes) yield source.bytes.subarray(at, Math.min(size, at + SLICE));
    else yield new Uint8Array(await source.file.slice(at, at + SLICE).arrayBuffer());
  }
}

async function send(options, unmodified) {
  if (!prepared) throw new Error('no file chosen');
  if (!prepared.bytes && !unmodified && prepared.lines[0] !== 'not an image: sent as is') {
    throw new Error('this file could not be cleaned');
  }
  const source = prepared;
  const size = source.bytes ? source.bytes.length : source.file.size;
  controller = new AbortController();
  const { signal } = controller;
  const password = options.password ? options.password.normalize('NFC') : null;
  const fragment = newLink(!!password);
  if (password) post('progress', { phase: 'Hashing the password', done: 0, total: size });
  const key = Key.unlock(fragment, password ?? undefined);
  const enc = new Encryptor(key, source.name, source.type, size, source.lines, undefined);
  const total = enc.containerLength();
  const upload = await createUpload(total, {
    expires_in: options.expiresIn,
    max_downloads: options.maxDownloads || undefined,
    proof_hash: key.proofHash(),
  }, signal);
  key.free();
  // One reusable buffer holds the chunk in flight (kept for retries until
  // the server acknowledges it), so memory stays flat whatever the size.
  const buffer = new Uint8Array(CHUNK + 2 * SLICE);
  let filled = 0;
  let expiresAt = null;
  const started = performance.now();
  const flush = async () => {
    const h = await sendChunk(upload, buffer.subarray(0, filled), signal, (n) => post('retry', { attempt: n }));
    filled = 0;
    if (h?.get('Veil-Expires-At')) expiresAt = Number(h.get('Veil-Expires-At'));
    post('progress', { phase: 'Uploading', done: upload.offset, total, elapsed: performance.now() - started });
  };
  const add = async (parts) => {
    for (const p of parts) {
      const bytes = p instanceof Uint8Array ? p : new Uint8Array(p);
      if (filled + bytes.length > buffer.length) await flush();
      buffer.set(bytes, filled);
      filled += bytes.length;
    }
    if (filled >= CHUNK) await flush();
  };
  await add([enc.header()]);
  try {
    for await (const slice of slices(source, size)) {
      await add(await enc.pushAsync(slice));
    }
    while (enc.paddingLeft() > 0) await add(await enc.padAsync(SLICE));
    await add(await enc.finishAsync());
    await flush();
  } catch (e) {
    if (signal.aborted) {
      await terminate(upload);
      post('cancelled');
      return;
    }
    throw e;
  }
  prepared = null;
  const link = `${self.location.origin}/d/${upload.id}#${fragment}`;
  post('done', {
    link,
    qr: qrSvg(link),
    deleteLink: `${self.location.origin}/x/${upload.id}#${upload.deleteToken}`,
    expiresAt,
    seconds: (performance.now() - started) / 1000,
  });
}

class Gone extends Error {
  constructor() {
    super('This file is gone: it expired, was already downloaded, was deleted, or never existed.');
    this.code = 'gone';
  }
}

async function download({ id, fragment, password }) {
  controller = new AbortController();
  const { signal } = controller;
  const head = await fetch(`/api/v1/blobs/${id}`, { method: 'HEAD', signal });
  if (head.status === 404) throw new Gone();
  if (!head.ok) throw new Error(`the server answered ${head.status}`);
  const total = Number(head.headers.get('Content-Length'));
  post('info', { size: total, expiresAt: Number(head.headers.get('Veil-Expires-At')) });
  if (password) post('progress', { phase: 'Checking the password', done: 0, total });
  let key;
  try {
    key = Key.unlock(fragment, password ? password.normalize('NFC') : undefined);
  } catch (e) {
    const err = new Error(e.message);
    err.code = 'link';
    throw err;
  }
  const proof = key.proof();
  const r = await fetch(`/api/v1/blobs/${id}`, { headers: { 'Veil-Proof': proof }, signal, cache: 'no-store' });
  if (r.status === 404) throw new Gone();
  if (r.status === 403) {
    const err = new Error(password ? 'Wrong password. Nothing was downloaded, so you can try again.' : 'This link is incomplete or wrong.');
    err.code = password ? 'password' : 'link';
    throw err;
  }
  if (r.status === 429) {
    const err = new Error(`Too many wrong attempts. Wait ${r.headers.get('Retry-After') ?? 'a few'} seconds and try again.`);
    err.code = 'password';
    throw err;
  }
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  const dec = new Decryptor(key);
  const reader = r.body.getReader();
  let done = 0;
  let meta = null;
  let parts = [];
  let partsBytes = 0;
  let blob = new Blob([]);
  const started = performance.now();
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      done += value.length;
      const plain = dec.push(value);
      if (!meta) {
        meta = dec.metadata();
        if (meta) post('meta', { name: meta.name, mime: meta.type, size: meta.size });
      }
      if (plain.length) {
        parts.push(plain);
        partsBytes += plain.length;
      }
      // Fold into a Blob every 16 MiB so the browser can move it out of the heap.
      if (partsBytes >= 16 << 20) {
        blob = new Blob([blob, ...parts]);
        parts = [];
        partsBytes = 0;
      }
      post('progress', { phase: 'Downloading and decrypting', done, total, elapsed: performance.now() - started });
    }
    dec.finish();
  } catch (e) {
    const err = new Error('The file is damaged or was tampered with: it cannot be decrypted. Nothing was saved.');
    err.code = 'damaged';
    throw err;
  }
  blob = new Blob([blob, ...parts], { type: safeType(meta.type) });
  post('downloaded', { blob, name: meta.name, mime: meta.type, size: meta.size, report: meta.report, seconds: (performance.now() - started) / 1000 });
}

// Types that are safe to preview inline; everything else is a plain download.
function safeType(t) {
  return /^(image\/(png|jpeg|gif|webp|avif|heic|bmp)|video\/(mp4|webm|quicktime))$/.test(t) ? t : 'application/octet-stream';
}
