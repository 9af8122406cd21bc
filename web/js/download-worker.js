// The download pipeline, off the main thread: look at the share's head with
// the proof derived from the link (consuming nothing), then fetch the
// records of the files chosen (one download), decrypt as the bytes stream
// in (through WebCrypto where available), cut the plaintext into files
// (the core's splitter), and hand them to the page (small) or to the
// service worker that streams them to disk (large): one file as itself,
// several as one ZIP. The key never leaves this worker and the page.
import '/js/channels.js';
import { P, ready, Key, Decryptor, solveWork, safeFileName, downloadAnswer, previewKind } from '/js/protocol-receive.js';
import { load, webAssembly } from '/js/load.js';

const { download: M, sink: K, timeouts: T, sizes: Z } = globalThis.VEIL_CHANNELS;

let controller = null;

// `type` names the message; payloads never use that key (see `mime`).
const post = (type, data = {}) => self.postMessage({ ...data, type });

self.onmessage = async ({ data }) => {
  try {
    await ready;
    if (data.type === M.look) await look(data);
    else if (data.type === M.fetch) await fetchFiles(data.files);
    else if (data.type === M.sink) sinkOffered?.(data);
    else if (data.type === M.cancel) controller?.abort();
  } catch (e) {
    post(M.error, { message: e?.message ?? String(e), code: e?.code ?? 'error' });
  }
};

// What each answer means is the core's (downloadAnswer); this only words it.
function failure(answer, status) {
  const messages = {
    gone: 'This share is gone: it expired, was already downloaded, was deleted, or never existed.',
    removed: 'This share was removed by the operator of this server after a report.',
    password: 'Wrong password. Nothing was downloaded, so you can try again.',
    link: 'This link is incomplete or wrong.',
    busy: 'The server is busy. Nothing was downloaded; try again in a moment.',
    work: 'The server is busy. Nothing was downloaded; try again in a moment.',
  };
  const err = new Error(messages[answer] ?? `the server answered ${status}`);
  err.code = answer === 'password' ? 'password' : 'look';
  return err;
}

// The link being opened: its key's proof, the head fetched by the look, and
// a decryptor that has read it (used by the first download; another one,
// after a failure, starts from a fresh key).
let share = null;

// A GET with the proof, and once more with the work a 429 asks for
// (others tried wrong passwords on this link: docs/API.md "Wrong proofs").
async function ask(url, headers = {}) {
  const { signal } = controller;
  const get = (extra) => fetch(url, { headers: { [P.proof]: share.proof, ...headers, ...extra }, signal, cache: 'no-store' });
  const answer = (r) => downloadAnswer(r.status, share.password, r.headers.get(P.workBits) ?? undefined);
  let r = await get({});
  if (answer(r) === 'work') {
    // The JavaScript build hashes about a hundred times slower: at the
    // highest level that is minutes (docs/API.md, "Wrong proofs").
    post(M.progress, { phase: `Someone tried wrong passwords on this link; proving this attempt is not a guess${webAssembly ? '' : ' (without WebAssembly this can take a few minutes)'}…`, done: 0, total: 0 });
    const nonce = solveWork(share.id, share.proof, Number(r.headers.get(P.workBits)));
    r = await get({ [P.work]: String(nonce) });
  }
  const meaning = answer(r);
  if (meaning !== 'granted') throw failure(meaning, r.status);
  return r;
}

function unlock(fragment, password) {
  try {
    return Key.unlock(fragment, password || undefined);
  } catch (e) {
    const err = new Error(e.message);
    err.code = 'look';
    throw err;
  }
}

// The look: the share's head only (header and sealed manifest), behind
// the proof like a download, but counted as none.
async function look({ id, fragment, password }) {
  controller = new AbortController();
  const key = unlock(fragment, password);
  share = { id, fragment, password: !!password, passwordText: password, proof: key.proof(), url: `${P.blobs}/${id}` };
  const r = await ask(`${share.url}${P.lookSuffix}`);
  const head = new Uint8Array(await r.arrayBuffer());
  const dec = new Decryptor(key);
  let manifest = null;
  try {
    await dec.pushAsync(head);
    manifest = dec.manifest();
  } catch {
    // Falls through to the message below.
  }
  if (!manifest) {
    const err = new Error('This share is damaged or was tampered with: it cannot be opened.');
    err.code = 'look';
    throw err;
  }
  share.head = head;
  share.dec = dec;
  share.manifest = manifest;
  const left = r.headers.get(P.downloadsLeft);
  post(M.contents, {
    files: manifest.files,
    expiresAt: Number(r.headers.get(P.expiresAt)) || null,
    downloadsLeft: left === null ? null : Number(left),
  });
}

// One download of files `chosen` (indices): the records from the first to
// the last chosen, one Range request; each chosen file goes to the output
// as its bytes verify (several: a ZIP streamed as it is written).
async function fetchFiles(chosen) {
  controller = new AbortController();
  const { signal } = controller;
  let dec = share.dec;
  share.dec = null;
  if (!dec) {
    // A retry after a failure starts from a fresh key: with a password,
    // hashed again.
    if (share.passwordText) post(M.progress, { phase: webAssembly ? 'Checking the password…' : 'Checking the password (up to a minute without WebAssembly)…', done: 0, total: 0 });
    dec = new Decryptor(unlock(share.fragment, share.passwordText));
    await dec.pushAsync(share.head);
  }
  const picked = new Set(chosen);
  const first = Math.min(...chosen);
  const last = Math.max(...chosen);
  const sel = dec.select(first, last);
  const splitter = dec.splitter(first, last, sel.contentStart);
  const r = await ask(share.url, { [P.range]: `bytes=${sel.from}-${sel.to - 1}` });
  const files = share.manifest.files;
  const output = chosen.length === 1 ? new OneFile(files[chosen[0]]) : await ZipOutput.open(chosen.map((i) => files[i]));
  const route = async (parts) => {
    for (const p of parts) {
      const pieces = splitter.split(p.length);
      for (let k = 0; k < pieces.length; k += 4) {
        const file = pieces[k];
        if (picked.has(file)) await output.piece(files[file], p.subarray(pieces[k + 1], pieces[k + 2]), pieces[k + 3]);
      }
    }
  };
  // A server that ignored the range sent the whole container: skip to ours.
  const skip = r.status === 206 ? 0 : sel.from;
  const started = performance.now();
  await decrypt(r.body.getReader(), dec, sel.to - sel.from, skip, signal, route, output);
  const pieces = splitter.split(0);
  for (let k = 0; k < pieces.length; k += 4) {
    if (picked.has(pieces[k])) await output.piece(files[pieces[k]], new Uint8Array(0), pieces[k + 3]);
  }
  if (!splitter.done()) throw damagedError();
  await output.close((performance.now() - started) / 1000);
}

function damagedError() {
  const err = new Error('The file is damaged or was tampered with: it cannot be decrypted. Nothing was saved.');
  err.code = 'damaged';
  return err;
}

// Ciphertext is copied into batches of about BATCH bytes as it arrives and
// handed to the decryptor, up to IN_FLIGHT batches at once (WebCrypto opens
// their records in parallel); verified plaintext goes to the sink in order.
// Batch buffers are reused once their batch has been opened: fresh ones
// cost the worker the page faults of new memory every time (a quarter of
// its busy time in a CPU profile of a 256 MiB download).
const BATCH = 4 << 20;
const IN_FLIGHT = 4;

async function decrypt(reader, dec, total, skip, signal, route, output) {
  const started = performance.now();
  const queue = []; // { opened: Promise<Uint8Array[]>, buffer }
  const free = [];
  let received = 0;
  let toSkip = skip;
  let buffer = null;
  let filled = 0;
  let shown = 0; // when progress was last posted
  const drain = async (keep) => {
    while (queue.length > keep) {
      const { opened, buffer: used } = queue.shift();
      const parts = await opened;
      if (used) free.push(used);
      await route(parts);
    }
  };
  // Hands `bytes` (a view of `owner`, or a chunk of its own) to the decryptor.
  const push = async (bytes, owner) => {
    const opened = dec.pushAsync(bytes);
    opened.catch(() => {}); // awaited in order by drain; this only marks it handled
    queue.push({ opened, buffer: owner });
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
      const read = await reader.read();
      let { value } = read;
      if (value?.length && toSkip > 0) {
        const n = Math.min(toSkip, value.length);
        toSkip -= n;
        value = value.subarray(n);
      }
      // Only the `total` bytes asked for (a server that ignored the range
      // sends the records after them too).
      if (value?.length > total - received) value = value.subarray(0, total - received);
      const last = received + (value?.length ?? 0) >= total;
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
      if (read.done) break;
      if (last) {
        reader.cancel().catch(() => {});
        break;
      }
      if (performance.now() - shown > 100) {
        shown = performance.now();
        post(M.progress, { phase: 'Downloading and decrypting', done: received, total, elapsed: shown - started });
      }
    }
    await flush();
    await drain(0);
    dec.finish();
  } catch (e) {
    output.abort();
    if (e instanceof Cancelled || signal.aborted) {
      const err = new Error('The download was cancelled.');
      err.code = 'cancelled';
      throw err;
    }
    throw damagedError();
  }
}

// One file: saved as itself (kept in memory for a preview when small,
// else streamed to disk as the records verify).
class OneFile {
  constructor(file) {
    this.file = file;
    this.sink = null;
  }

  async piece(file, bytes) {
    this.sink ??= await openSink({ name: safeFileName(file.name), type: file.type, size: file.size });
    if (bytes.length) await this.sink.write([bytes]);
  }

  abort() {
    this.sink?.abort();
  }

  async close(seconds) {
    const meta = this.file;
    this.sink ??= await openSink({ name: safeFileName(meta.name), type: meta.type, size: meta.size });
    await finishSink(this.sink, { name: safeFileName(meta.name), mime: meta.type, size: meta.size, report: meta.report, seconds, count: 1 }, safeType(meta.type));
  }
}

// Several files: one ZIP, written as the files' bytes verify, through the
// same sinks as one file. Its writer is a wasm module of its own
// (wasm-zip), loaded only now.
class ZipOutput {
  static async open(files) {
    const { Zip, zipLength } = await load('pkg-zip', 'zip');
    const size = zipLength(files.map((f) => f.name), files.map((f) => f.size));
    const out = new ZipOutput();
    out.zip = new Zip();
    out.count = files.length;
    out.meta = { name: zipName(files), type: 'application/zip', size };
    out.sink = await openSink(out.meta);
    return out;
  }

  async piece(file, bytes, flags) {
    const parts = [];
    if (flags & 1) parts.push(this.zip.begin(file.name, file.size));
    if (bytes.length) {
      this.zip.data(bytes);
      parts.push(bytes);
    }
    if (flags & 2) parts.push(this.zip.end());
    if (parts.length) await this.sink.write(parts);
  }

  abort() {
    this.sink.abort();
  }

  async close(seconds) {
    await this.sink.write([this.zip.finish()]);
    this.zip.free();
    await finishSink(this.sink, { name: this.meta.name, mime: this.meta.type, size: this.meta.size, report: null, seconds, count: this.count }, 'application/zip');
  }
}

// `photos.zip` when every file is in one folder `photos/`, else `veil-files.zip`.
function zipName(files) {
  const tops = new Set(files.map((f) => (f.name.includes('/') ? f.name.split('/')[0] : '')));
  const [top] = tops;
  return tops.size === 1 && top ? `${top}.zip` : 'veil-files.zip';
}

// Tells the page the file is complete: a Blob it can preview and save
// again, or where the stream went.
async function finishSink(sink, done, blobType) {
  const inMemory = sink instanceof BlobSink ? sink : sink.fallback;
  if (inMemory) {
    post(M.downloaded, { ...done, blob: inMemory.close(blobType) });
    return;
  }
  try {
    await sink.close();
  } catch (e) {
    throw new Error(`The file could not be written: ${e?.message ?? e}`);
  }
  post(M.saved, { ...done, where: sink.where });
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

let sinkOffered = null; // resolves with the page's answer to a stream request

// Tells the page what is coming; for a large file, asks it where to write:
// a file the recipient picked (File System Access API), a port to the
// service worker that streams downloads to disk, or neither (memory).
async function openSink(meta) {
  // Small files are kept in memory (preview, Save); larger ones stream to
  // disk when the page can (VEIL_CHANNELS.sizes).
  const stream = meta.size > Z.inMemory;
  const answer = stream ? new Promise((resolve) => { sinkOffered = resolve; }) : null;
  post(M.meta, { name: meta.name, mime: meta.type, size: meta.size, stream });
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
      while (!this.credits && !this.cancelled && performance.now() - this.created < T.streamStart) {
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
