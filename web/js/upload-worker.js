// The upload pipeline, off the main thread. Every file chosen goes into one
// share (one link). Pictures are cleaned one at a time as they are added
// (the stripper needs the whole image); at sending, the files are read in
// slices, one after the other, encrypted by the wasm module (through
// WebCrypto where available) and sent with tus. The key never leaves this
// worker and the page.
import '/js/channels.js';
import { P, ready, Key, Encryptor, shareLength, newLink, stripMetadata, sniffType, isMedia, cleanerModule, cameraName, asIsReport, shareLink, deletionLink } from '/js/protocol-send.js';
import { load, webAssembly } from '/js/load.js';
import { sentName } from '/js/format.js';

// The tus client is fetched when Send is pressed, not with the page: what
// the page loads first stays within its budget (web/README.md).
let tusModule = null;
async function tusClient() {
  tusModule ??= import('/js/tus.js');
  try {
    return await tusModule;
  } catch (e) {
    tusModule = null; // a failed fetch is tried again on the next Send
    throw e;
  }
}

const M = globalThis.VEIL_CHANNELS.upload;

const SLICE = 4 << 20; // bytes read and encrypted per step
const CHUNK = 16 << 20; // bytes per PATCH
// Larger media are sent only if the user accepts them unmodified. The
// JavaScript build's memory (wasm2js) ends at 2 GiB and is copied whole on
// each growth, and cleaning holds the file and its cleaned copy: less there.
const MAX_STRIP = webAssembly ? 512 << 20 : 256 << 20;

// The files of the share being prepared, in the order they were added:
// id -> { file, size, name (relative path), renamed (the neutral name of a
// camera-style one, or null), type, lines, outcome }.
// outcome is 'cleaned' (the picture is cleaned again when it is sent:
// cleaning is a pure function of the bytes, so the result is the same,
// and a hundred cleaned photos are never held at once), 'not-media' (sent
// as is, nothing to clean) or 'refused' (could not be cleaned: sent only
// if the user accepts it unmodified). `size` is what will be sent.
const prepared = new Map();
// Files are cleaned one at a time, in order: a hundred photos dropped at
// once are never all in memory together.
let queue = Promise.resolve();
let controller = null;

// `type` names the message; payloads never use that key (see `mime`).
const post = (type, data = {}) => self.postMessage({ ...data, type });

self.onmessage = async ({ data }) => {
  try {
    await ready;
  } catch (e) {
    // The core did not load (a dropped connection while fetching it):
    // nothing here can work until the page is loaded again.
    post(M.error, { message: e?.message ?? String(e), code: 'start' });
    return;
  }
  try {
    if (data.type === M.prepare) {
      queue = queue.then(() => prepare(data.id, data.file, data.path)).catch((e) => post(M.error, { id: data.id, message: e?.message ?? String(e) })).then(measure);
    } else if (data.type === M.remove) {
      await queue;
      prepared.delete(data.id);
      measure();
    } else if (data.type === M.send) {
      await queue;
      await send(data.options, data.unmodified);
    } else if (data.type === M.cancel) controller?.abort();
  } catch (e) {
    post(M.error, { message: e?.message ?? String(e), code: e?.code ?? 'error' });
  }
};

// What the files prepared so far will take on the server (padding and
// metadata included), for the page to hold against the server's limit.
// Original names: never shorter than the neutral ones.
function measure() {
  let length = null;
  try {
    length = shareLength([...prepared.values()].map((i) => ({ name: i.name, type: i.type, size: i.size, report: i.lines })));
  } catch {
    // Not a share the core would make (e.g. too many same names): Send says why.
  }
  post(M.measured, { length, count: prepared.size });
}

// Audio, JPEG XL, SVG and Office files are cleaned by the formats module
// (web/pkg-formats), PDFs by the PDF module (web/pkg-pdf), each fetched
// the first time such a file is picked: their cleaners, XML reader,
// inflate and PDF reader would push what every upload loads past the
// page's budget.
const cleaners = new Map();
async function cleanerFor(head) {
  const pkg = cleanerModule(head);
  if (!pkg) return stripMetadata;
  if (!cleaners.has(pkg)) cleaners.set(pkg, load(pkg, 'veil'));
  try {
    return (await cleaners.get(pkg)).stripMetadata;
  } catch (e) {
    cleaners.delete(pkg); // a failed fetch is tried again on the next file
    throw e;
  }
}

async function prepare(id, file, path) {
  const name = path || file.name || 'pasted image';
  // A camera-style name (IMG_20240612_101530.jpg) goes out neutral unless
  // the sender keeps it: { name, reveals } or null.
  const renamed = cameraName(name) ?? null;
  // Content decides what a file is; an SVG's prologue can take a few KiB
  // (veil_core::prepare::HEAD_BYTES).
  const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
  const sniffed = sniffType(head);
  if (!isMedia(head, file.type || undefined)) {
    prepared.set(id, { file, renamed, size: file.size, name, type: file.type || 'application/octet-stream', lines: asIsReport(false), outcome: 'not-media' });
    post(M.prepared, { id, renamed, media: false, name, size: file.size });
    return;
  }
  if (file.size > MAX_STRIP) {
    prepared.set(id, { file, renamed, size: file.size, name, type: sniffed ?? file.type, lines: asIsReport(true, 'too large to clean in the browser'), outcome: 'refused' });
    post(M.stripFailed, { id, renamed, name, size: file.size, reason: webAssembly ? 'This file is too large to clean in the browser.' : 'This file is too large to clean in this browser without WebAssembly (the veil command can).' });
    return;
  }
  post(M.progress, { phase: `Cleaning ${name}`, done: 0, total: file.size });
  const bytes = new Uint8Array(await file.arrayBuffer());
  let result, clean;
  try {
    clean = await cleanerFor(head);
    result = clean(bytes, file.type || undefined);
  } catch (e) {
    prepared.set(id, { file, renamed, size: file.size, name, type: sniffed ?? file.type, lines: asIsReport(true, e.message), outcome: 'refused' });
    post(M.stripFailed, { id, renamed, name, size: file.size, reason: e.message });
    return;
  }
  const size = result.data.length;
  prepared.set(id, { file, renamed, size, name, type: result.type, lines: result.lines, outcome: 'cleaned', clean });
  post(M.prepared, { id, renamed, media: true, name, size, format: result.format, removed: result.removed, kept: result.kept });
}

// Yields the file in SLICE-byte pieces, reading the next while the caller
// works on the current one.
async function* slices(item) {
  if (item.outcome === 'cleaned') {
    const { data } = item.clean(new Uint8Array(await item.file.arrayBuffer()), item.file.type || undefined);
    if (data.length !== item.size) throw new Error(`${item.name} changed while it was being sent`);
    for (let at = 0; at < data.length; at += SLICE) yield data.subarray(at, at + SLICE);
    return;
  }
  const blob = item.file;
  const size = item.size;
  const read = (at) => blob.slice(at, at + SLICE).arrayBuffer().then((b) => new Uint8Array(b));
  let next = size > 0 ? read(0) : null;
  for (let at = 0; at < size; at += SLICE) {
    const current = await next;
    next = at + SLICE < size ? read(at + SLICE) : null;
    next?.catch(() => {}); // awaited on the next turn; this only marks it handled
    yield current;
  }
}

async function send(options, unmodified) {
  const items = [...prepared.values()];
  if (!items.length) throw new Error('no file chosen');
  if (items.some((i) => i.outcome === 'refused') && !unmodified) {
    throw new Error('some files could not be cleaned');
  }
  const size = items.reduce((n, i) => n + i.size, 0);
  const { createUpload, sendChunk, terminate } = await tusClient();
  controller = new AbortController();
  const { signal } = controller;
  const password = options.password || null; // normalised (NFC) by the core
  const fragment = newLink(!!password);
  if (password) post(M.progress, { phase: webAssembly ? 'Hashing the password…' : 'Hashing the password (up to a minute without WebAssembly)…', done: 0, total: 0 });
  const key = Key.unlock(fragment, password ?? undefined);
  // Hashing blocks this worker: a Cancel pressed meanwhile is only
  // delivered now, and must win before anything reaches the server.
  await new Promise((ok) => setTimeout(ok, 0));
  if (signal.aborted) {
    key.free();
    post(M.cancelled);
    return;
  }
  // One share for every file, in the order shown (version 2 even for one
  // file: the server cannot tell one from several by the format).
  const enc = Encryptor.share(key, items.map((i) => ({ name: sentName(i, options.keepNames), type: i.type, size: i.size, report: i.lines })), undefined);
  const names = enc.names();
  const total = enc.containerLength();
  let upload;
  try {
    upload = await createUpload(total, {
      expiresIn: options.expiresIn,
      maxDownloads: options.maxDownloads,
      proofHash: key.proofHash(),
    }, signal, (bits) => post(M.progress, { phase: `The server asks every upload for a little proof of work (${bits} bits)${webAssembly ? '' : '; without WebAssembly this can take a few minutes'}…`, done: 0, total: 0 }));
  } catch (e) {
    // Cancelled before the server named the upload: nothing to remove
    // (an upload it made meanwhile holds no byte and expires unfinished).
    if (signal.aborted) {
      post(M.cancelled);
      return;
    }
    throw e;
  } finally {
    key.free();
  }
  // Encrypted pieces are gathered until CHUNK bytes, then made into one
  // Blob, which the browser copies out of this worker's memory while the
  // previous PATCH is still in flight. Each Blob is kept for retries until
  // the server acknowledges it; encryption of the next chunk waits for that,
  // so at most two chunks are held whatever the size, while the disk, the
  // crypto and the network work at the same time.
  let pieces = [];
  let filled = 0;
  let inFlight = null;
  let expiresAt = null;
  const started = performance.now();
  // The bar follows the bytes on the wire, a few times a second at most.
  let told = 0;
  const uploading = (done, always = false) => {
    const now = performance.now();
    if (!always && now - told < 200) return;
    told = now;
    post(M.progress, { phase: 'Uploading', done, total, elapsed: now - started });
  };
  const flush = async () => {
    const chunk = new Blob(pieces);
    pieces = [];
    filled = 0;
    // tus PATCHes are sequential: the previous one must land first.
    await inFlight;
    const sent = sendChunk(upload, chunk, signal, (n) => post(M.retry, { attempt: n }), uploading).then((h) => {
      if (h?.get(P.expiresAt)) expiresAt = Number(h.get(P.expiresAt));
      uploading(upload.offset, true);
    });
    sent.catch(() => {}); // awaited by the next flush; this only marks it handled
    inFlight = sent;
  };
  const add = async (parts) => {
    for (const p of parts) {
      pieces.push(p);
      filled += p.byteLength;
    }
    if (filled >= CHUNK) await flush();
  };
  await add([enc.header()]);
  try {
    for (const item of items) {
      for await (const slice of slices(item)) {
        await add(await enc.pushAsync(slice));
      }
    }
    while (enc.paddingLeft() > 0) await add(await enc.padAsync(SLICE));
    await add(await enc.finishAsync());
    if (filled) await flush();
    await inFlight;
  } catch (e) {
    if (signal.aborted) {
      await terminate(upload);
      post(M.cancelled);
      return;
    }
    throw e;
  }
  prepared.clear();
  const link = shareLink(self.location.origin, upload.id, fragment);
  post(M.done, {
    link,
    names,
    qr: await qrCode(link),
    deleteLink: deletionLink(self.location.origin, upload.id, upload.deleteToken),
    expiresAt,
    seconds: (performance.now() - started) / 1000,
  });
}

// The QR code module is loaded only now: the page needs it after an upload
// only, and it is a sixth of the page's wasm (wasm-qr).
async function qrCode(link) {
  try {
    const { qrSvg } = await load('pkg-qr', 'qr');
    return qrSvg(link);
  } catch {
    return null; // the link still works; the page shows no QR code
  }
}
