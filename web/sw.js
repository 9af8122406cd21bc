// Streams decrypted downloads to disk. The download page hands this service
// worker a MessagePort (fed by the decrypting worker) and then opens
// /d/~stream/<id> in a hidden frame; the response built here is a file
// download whose body is read from the port as the browser writes it, so a
// large file never has to fit in memory. Only records that have verified
// are ever sent here, and the stream is closed only after the decryptor
// checked the end of the file; on any failure it is errored, and the
// browser discards the partial download. Nothing here touches the network.
importScripts('/js/channels.js');
const { stream: S, sink: K, timeouts: T, streamPath: PREFIX } = self.VEIL_CHANNELS;
const pending = new Map(); // stream id -> { port, name, size }

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('message', (e) => {
  const d = e.data;
  // 'ping' messages only keep this worker alive during a long download.
  if (d?.type !== S.stream || !e.ports[0] || typeof d.id !== 'string') return;
  const port = e.ports[0];
  pending.set(d.id, { port, name: String(d.name), size: Number(d.size) });
  setTimeout(() => pending.delete(d.id), T.pendingStream);
  port.postMessage({ type: S.registered });
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREFIX)) return;
  const id = url.pathname.slice(PREFIX.length);
  const entry = pending.get(id);
  pending.delete(id);
  if (!entry) {
    e.respondWith(new Response('This download is no longer available.', { status: 404 }));
    return;
  }
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': disposition(entry.name),
    'Content-Security-Policy': "default-src 'none'",
    'X-Content-Type-Options': 'nosniff',
  };
  if (Number.isSafeInteger(entry.size)) headers['Content-Length'] = String(entry.size);
  e.respondWith(new Response(fromPort(entry.port), { headers }));
});

// A byte stream pulled from the port: one 'more' asks for one chunk message;
// the queue holds at most about 8 MiB, so the decrypting side waits for the disk.
function fromPort(port) {
  let arrived = null;
  return new ReadableStream({
    start(controller) {
      port.onmessage = ({ data }) => {
        if (data?.type === K.chunk) {
          for (const part of data.parts) controller.enqueue(part);
        } else if (data?.type === K.end) {
          controller.close();
        } else {
          controller.error(new Error('the download failed'));
        }
        arrived?.();
        arrived = null;
      };
    },
    pull() {
      port.postMessage({ type: K.more });
      return new Promise((resolve) => { arrived = resolve; });
    },
    cancel() {
      port.postMessage({ type: K.cancel });
    },
  }, { highWaterMark: 8 << 20, size: (chunk) => chunk.byteLength });
}

// The sender chose the name: keep it readable, but no path separators,
// control characters or quotes reach the header.
function disposition(name) {
  const clean = name.replace(/[\u0000-\u001f\u007f/\\"]/g, '_').replace(/^\.+/, '_').slice(0, 200) || 'download';
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_');
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
