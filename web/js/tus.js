// A small tus 1.0 client for the worker: creates an upload, sends PATCHes,
// and after a network error asks the server for its offset (HEAD) and
// resends from there. Only the chunk in flight is kept in memory.
//
// The one piece of the protocol the page keeps in JavaScript: the PATCH
// loop, because it sends Blobs (which only the browser can stream). The CLI
// has its own loop (cli/src/send.rs, Upload::send); both are tested against
// the same server behaviour: resume from HEAD's offset after a cut-off
// PATCH, 409 (a stale offset, or the first attempt still running) answered
// by asking HEAD, 413 and other 4xx not retried (tests/page-tus.test.mjs,
// cli/tests/share.rs). Everything else (paths,
// header names, metadata) comes from the core through protocol-send.js.
import { P, uploadMetadata, solveUploadWork } from './protocol-send.js';

// Callers have awaited protocol-send.js's `ready` (the upload worker does).
const tus = () => ({ [P.tusResumable]: P.tusVersion });
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];

export class TusError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// `options`: { expiresIn, maxDownloads, proofHash }.
// `onWork(bits)` is told when the server asks for proof of work first
// (docs/API.md, "Upload limits").
export async function createUpload(length, options, signal, onWork) {
  const meta = uploadMetadata(options.expiresIn || undefined, options.maxDownloads || undefined, options.proofHash);
  const create = (extra) => fetch(P.uploads, {
    method: 'POST',
    headers: { ...tus(), [P.uploadLength]: String(length), [P.uploadMetadata]: meta, ...extra },
    signal,
  });
  let r = await create({});
  const challenge = r.status === 429 ? r.headers.get(P.workChallenge) : null;
  if (challenge) {
    const bits = Number(r.headers.get(P.workBits));
    onWork?.(bits);
    r = await create({ [P.work]: `${challenge} ${solveUploadWork(challenge, bits)}` });
  }
  if (r.status !== 201) {
    const wait = Number(r.headers.get('retry-after'));
    const text = await errorText(r);
    throw new TusError(wait > 0 ? `${text} (in about ${wait < 120 ? `${wait} s` : `${Math.ceil(wait / 60)} min`})` : text, r.status);
  }
  return {
    url: r.headers.get(P.location),
    id: r.headers.get(P.blobId),
    deleteToken: r.headers.get(P.deleteToken),
    offset: 0,
    length,
  };
}

async function errorText(r) {
  try {
    return (await r.json()).error ?? `HTTP ${r.status}`;
  } catch {
    return `HTTP ${r.status}`;
  }
}

async function serverOffset(upload, signal) {
  const r = await fetch(upload.url, { method: 'HEAD', headers: tus(), signal });
  if (r.status !== 200) throw new TusError('the upload is no longer on the server', r.status);
  return Number(r.headers.get(P.uploadOffset));
}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
    });
  });

// One PATCH. Through XMLHttpRequest where there is one (browsers, workers
// included): only it tells how much of a body has gone, so the page's bar
// moves per byte, not per acknowledged chunk (minutes apart over Tor).
// Elsewhere (node, in tests/page-tus.test.mjs) through fetch. Answers
// { status, headers: { get }, json() } either way.
function patch(url, headers, body, signal, onSent) {
  if (typeof XMLHttpRequest === 'undefined') return fetch(url, { method: 'PATCH', headers, body, signal });
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('PATCH', url);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    x.upload.onprogress = (e) => onSent?.(e.loaded);
    x.onload = () => resolve({
      status: x.status,
      headers: { get: (h) => x.getResponseHeader(h) },
      json: async () => JSON.parse(x.responseText),
    });
    x.onerror = () => reject(new TypeError('network error'));
    x.ontimeout = x.onerror;
    x.onabort = () => reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
    if (signal?.aborted) {
      x.onabort();
      return;
    }
    signal?.addEventListener('abort', () => x.abort(), { once: true });
    x.send(body);
  });
}

// Sends `chunk` (a Blob), which holds [upload.offset, upload.offset + chunk.size).
// A Blob body because Chromium uploads typed-array bodies about ten times
// slower, and a Blob can be resent from any offset after an error.
// `onSent(n)`: n bytes of the upload are on their way (for progress; they
// count only once the server acknowledges them).
// Returns the last response's headers.
export async function sendChunk(upload, chunk, signal, onRetry, onSent) {
  const start = upload.offset;
  let headers = null;
  for (let attempt = 0; ; attempt++) {
    try {
      const skip = upload.offset - start;
      if (skip >= chunk.size) return headers;
      const from = upload.offset;
      const r = await patch(
        upload.url,
        { ...tus(), [P.uploadOffset]: String(from), 'content-type': P.tusContentType },
        skip ? chunk.slice(skip) : chunk,
        signal,
        (n) => onSent?.(from + n),
      );
      if (r.status === 204) {
        upload.offset = Number(r.headers.get(P.uploadOffset));
        headers = r.headers;
        if (upload.offset - start >= chunk.size) return headers;
        continue; // The server kept part of it: send the rest.
      }
      if (r.status !== 409 && r.status < 500) throw new TusError(await errorText(r), r.status);
      throw new Error(`server answered ${r.status}`);
    } catch (e) {
      if (signal?.aborted || e instanceof TusError) throw e;
      if (attempt >= RETRY_DELAYS.length) throw new TusError('the network failed repeatedly', 0);
      onRetry?.(attempt + 1);
      await sleep(RETRY_DELAYS[attempt], signal);
      try {
        upload.offset = await serverOffset(upload, signal);
      } catch (he) {
        if (he instanceof TusError) throw he;
      }
    }
  }
}

// Cancel: the server stops a running PATCH too.
export async function terminate(upload) {
  try {
    await fetch(upload.url, { method: 'DELETE', headers: { ...tus(), [P.authorization]: `Bearer ${upload.deleteToken}` } });
  } catch {
    // Best effort: the server expires unfinished uploads anyway.
  }
}
