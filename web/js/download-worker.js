// The download pipeline, off the main thread: fetch with the proof derived
// from the link, decrypt as the bytes stream in (through WebCrypto where
// available), and hand verified plaintext to the page (small files) or to
// the service worker that streams it to disk (large ones). The key never
// leaves this worker and the page.
import { Key, Decryptor, solveWork, safeFileName } from '/pkg/veil.js';
import '/js/channels.js';
import { P, ready, downloadAnswer, previewKind } from '/js/protocol.js';

const { download: M, sink: K, timeouts: T } = globalThis.VEIL_CHANNELS;

let controller = null;

// `type` names the message; payloads never use that key (see `mime`).
const post = (type, data = {}) => self.postMessage({ ...data, type });

self.onmessage = async ({ data }) => {
  try {
    await ready;
    if (data.type === M.download) await download(data);
    else if (data.type === M.sink) sinkOffered?.(data);
  } catch (e) {
    post(M.error, { message: e?.message ?? String(e), code: e?.code ?? 'error' });
  }
};

// What each answer means is the core's (downloadAnswer); this only words it.
function failure(answer, status) {
  const messages = {
    gone: 'This file is gone: it expired, was already downloaded, was deleted, or never existed.',
    password: 'Wrong password. Nothing was downloaded, so you can try again.',
    link: 'This link is incomplete or wrong.',
    busy: 'The server is busy. Nothing was downloaded; try again in a moment.',
    work: 'The server is busy. Nothing was downloaded; try again in a moment.',
  };
  const err = new Error(messages[answer] ?? `the server answered ${status}`);
  err.code = answer;
  return err;
}

async function download({ id, fragment, password }) {
  controller = new AbortController();
  const { signal } = controller;
  const url = `${P.blobs}/${id}`;
  const head = await fetch(url, { method: 'HEAD', signal });
  if (head.status === 404) throw failure('gone', 404);
  if (!head.ok) throw failure('failed', head.status);
  const total = Number(head.headers.get(P.contentLength));
  post(M.info, { size: total, expiresAt: Number(head.headers.get(P.expiresAt)) });
  if (password) post(M.progress, { phase: 'Checking the password', done: 0, total });
  let key;
  try {
    key = Key.unlock(fragment, password || undefined);
  } catch (e) {
    const err = new Error(e.message);
    err.code = 'link';
    throw err;
  }
  const proof = key.proof();
  const get = (headers) => fetch(url, { headers: { [P.proof]: proof, ...headers }, signal, cache: 'no-store' });
  const answer = (r) => downloadAnswer(r.status, !!password, r.headers.get(P.workBits) ?? undefined);
  let r = await get({});
  if (answer(r) === 'work') {
    // Others tried wrong passwords on this link: the server asks every
    // attempt for a little work bound to its proof (docs/API.md, "Wrong proofs").
    post(M.progress, { phase: 'Someone tried wrong passwords on this link; proving this attempt is not a guess', done: 0, total });
    const nonce = solveWork(id, proof, Number(r.headers.get(P.workBits)));
    r = await get({ [P.work]: String(nonce) });
  }
  const meaning = answer(r);
  if (meaning !== 'granted') throw failure(meaning, r.status);
  await decrypt(r.body.getReader(), new Decryptor(key), total, signal);
}

// Ciphertext is copied into batches of about BATCH bytes as it arrives and
// handed to the decryptor, up to IN_FLIGHT batches at once (WebCrypto opens
// their records in parallel); verified plaintext goes to the sink in order.
// Batch buffers are reused once their batch has been opened: fresh ones
// cost the worker the page faults of new memory every time (a quarter of
// its busy time in a CPU profile of a 256 MiB download).
const BATCH = 4 << 20;
const IN_FLIGHT = 4;

async function decrypt(reader, dec, total, signal) {
  const started = performance.now();
  const queue = []; // { opened: Promise<Uint8Array[]>, buffer }
  const free = [];
  let received = 0;
  let buffer = null;
  let filled = 0;
  let meta = null;
  let sink = null;
  let shown = 0; // when progress was last posted
  const drain = async (keep) => {
    while (sink && queue.length > keep) {
      const { opened, buffer: used } = queue.shift();
      const parts = await opened;
      if (used) free.push(used);
      await sink.write(parts);
    }
  };
  // Hands `bytes` (a view of `owner`, or a chunk of its own) to the decryptor.
  const push = async (bytes, owner) => {
    const opened = dec.pushAsync(bytes);
    opened.catch(() => {}); // awaited in order by drain; this only marks it handled
    queue.push({ opened, buffer: owner });
    if (!meta && (meta = dec.metadata())) sink = await openSink(meta);
    await drain(IN_FLIGHT - 1);
  };
  const flush = async () => {
    if (!filled) return;
    const full = buffer.subarray(0, filled);
    const owner = buffer;
    buffer = null;
    filled = 0;
    await push(full, owner);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (value?.length > BATCH) {
        await flush();
        await push(value, null);
      } else if (value?.length) {
        if (buffer && filled + value.length > buffer.length) await flush();
        buffer ??= free.pop() ?? new Uint8Array(BATCH + (1 << 20));
        buffer.set(value, filled);
        filled += value.length;
        if (filled >= BATCH) await flush();
      }
      received += value?.length ?? 0;
      if (done) break;
      if (performance.now() - shown > 100) {
        shown = performance.now();
        post(M.progress, { phase: 'Downloading and decrypting', done: received, total, elapsed: shown - started });
      }
    }
    await flush();
    await drain(0);
    if (!sink) throw new Error('no metadata');
    dec.finish();
  } catch (e) {
    sink?.abort();
    if (e instanceof Cancelled || signal.aborted) {
      const err = new Error('The download was cancelled.');
      err.code = 'cancelled';
      throw err;
    }
    const err = new Error('The file is damaged or was tampered with: it cannot be decrypted. Nothing was saved.');
    err.code = 'damaged';
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  const done = { name: safeFileName(meta.name), mime: meta.type, size: meta.size, report: meta.report, seconds };
  const inMemory = sink instanceof BlobSink ? sink : sink.fallback;
  if (inMemory) post(M.downloaded, { ...done, blob: inMemory.close(safeType(meta.type)) });
  else {
    try {
      await sink.close();
    } catch (e) {
      throw new Error(`The file could not be written: ${e?.message ?? e}`);
    }
    post(M.saved, { ...done, where: sink.where });
  }
}

function concat(parts) {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Files up to this size are kept in memory, for a preview and a Save button
// that can be clicked again; larger ones stream to disk when the page can.
const BLOB_MAX = 64 << 20;
let sinkOffered = null; // resolves with the page's answer to a stream request

// Tells the page what is coming; for a large file, asks it where to write:
// a file the recipient picked (File System Access API), a port to the
// service worker that streams downloads to disk, or neither (memory).
async function openSink(meta) {
  const stream = meta.size > BLOB_MAX;
  const answer = stream ? new Promise((resolve) => { sinkOffered = resolve; }) : null;
  post(M.meta, { name: safeFileName(meta.name), mime: meta.type, size: meta.size, stream });
  const where = answer ? await answer : {};
  if (where.handle) {
    try {
      return new FileSink(await where.handle.createWritable());
    } catch {
      // Not writable from here after all: keep it in memory.
    }
  }
  return where.port ? new StreamSink(where.port) : new BlobSink();
}

// Plaintext written to a file the recipient chose. The browser writes to a
// temporary file and puts it in place only on close, which happens after
// the last record verified; abort discards it.
class FileSink {
  constructor(writable) {
    this.writable = writable;
    this.where = 'picked';
  }

  async write(parts) {
    for (const p of parts) await this.writable.write(p);
  }

  close() {
    return this.writable.close();
  }

  abort() {
    this.writable.abort().catch(() => {});
  }
}

class Cancelled extends Error {}


// Plaintext collected into a Blob; folded every 16 MiB so the browser can
// move it out of this worker's heap.
class BlobSink {
  constructor() {
    this.blob = new Blob([]);
    this.parts = [];
    this.bytes = 0;
  }

  async write(parts) {
    for (const p of parts) {
      this.parts.push(p);
      this.bytes += p.length;
    }
    if (this.bytes >= 16 << 20) {
      this.blob = new Blob([this.blob, ...this.parts]);
      this.parts = [];
      this.bytes = 0;
    }
  }

  close(type) {
    return new Blob([this.blob, ...this.parts], { type });
  }

  abort() {
    this.parts = [];
  }
}

// Plaintext sent to the service worker's download stream, one chunk per
// request from it (so this side waits while the disk catches up).
class StreamSink {
  constructor(port) {
    this.port = port;
    this.where = 'downloads';
    this.created = performance.now();
    this.started = false;
    this.fallback = null;
    this.credits = 0;
    this.cancelled = false;
    this.wake = null;
    port.onmessage = ({ data }) => {
      if (data?.type === K.more) this.credits++;
      else if (data?.type === K.cancel) {
        this.cancelled = true;
        controller?.abort();
      }
      this.wake?.();
    };
  }

  async write(parts) {
    if (this.fallback) return this.fallback.write(parts);
    if (!parts.length) return;
    if (!this.started) {
      // The page opened the stream; if the browser never asks for data
      // (no download started), keep the file in memory instead.
      const timer = setTimeout(() => this.wake?.(), T.streamStart);
      while (!this.credits && !this.cancelled && performance.now() - this.created < STREAM_START) {
        await new Promise((resolve) => { this.wake = resolve; });
      }
      clearTimeout(timer);
      if (!this.credits && !this.cancelled) {
        this.abort();
        this.fallback = new BlobSink();
        return this.fallback.write(parts);
      }
      this.started = true;
    }
    while (!this.credits && !this.cancelled) await new Promise((resolve) => { this.wake = resolve; });
    if (this.cancelled) throw new Cancelled();
    this.credits--;
    // One buffer per message: the service worker may run in another
    // process, where each transferred buffer costs about as much as its
    // bytes (a warm service worker took twice as long with one per record).
    const one = concat(parts);
    this.port.postMessage({ type: K.chunk, parts: [one] }, [one.buffer]);
  }

  close() {
    this.port.postMessage({ type: K.end });
  }

  abort() {
    this.port.postMessage({ type: K.abort });
  }
}

// Types that are safe to preview inline (the core's list); everything else
// is a plain download.
function safeType(t) {
  return previewKind(t) ? t : 'application/octet-stream';
}
