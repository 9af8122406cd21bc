// The message kinds of every channel of the web client, and the timeouts
// that must agree across them: the one place each is spelled. A classic
// script (no `export`) so the service worker can load it with
// importScripts; modules import it for its effect and read
// globalThis.VEIL_CHANNELS. See web/README.md for who talks to whom.
globalThis.VEIL_CHANNELS = Object.freeze({
  // page <-> js/upload-worker.js
  upload: Object.freeze({
    // to the worker
    prepare: 'prepare', remove: 'remove', send: 'send', cancel: 'cancel',
    // from the worker
    prepared: 'prepared', stripFailed: 'strip-failed', measured: 'measured', progress: 'progress',
    retry: 'retry', done: 'done', cancelled: 'cancelled', error: 'error',
  }),
  // page <-> js/download-worker.js
  download: Object.freeze({
    // to the worker: look at the share (consumes nothing), then fetch some
    // or all of its files (one download)
    look: 'look', fetch: 'fetch', sink: 'sink', cancel: 'cancel',
    // from the worker
    contents: 'contents', progress: 'progress', meta: 'meta', downloaded: 'downloaded',
    saved: 'saved', error: 'error',
  }),
  // The service worker answers downloads under this path (in its scope, the
  // share links' /d/); the page opens one in a hidden frame.
  streamPath: '/d/~stream/',
  // page -> sw.js (and its answer on the port it is given)
  stream: Object.freeze({ stream: 'stream', ping: 'ping', registered: 'registered' }),
  // js/download-worker.js <-> sw.js, over that port
  sink: Object.freeze({
    // worker -> service worker
    chunk: 'chunk', end: 'end', abort: 'abort',
    // service worker -> worker
    more: 'more', cancel: 'cancel',
  }),
  // Bytes. Downloads up to `inMemory` are decrypted into a Blob (for a
  // preview and a Save button that can be pressed again); larger ones are
  // streamed to a picked file or to the downloads (service worker) when the
  // browser can, else kept in memory up to `memoryMax`; beyond that the
  // page says so before anything starts and points to the CLI.
  sizes: Object.freeze({ inMemory: 64 << 20, memoryMax: 512 << 20 }),
  // Milliseconds. Required order: swReady and registered < streamStart <
  // pendingStream (a stream the page registered must still be waiting in
  // the service worker when the worker stops waiting for it to start), and
  // keepAlive well under the browsers' ~30 s idle limit for service workers.
  timeouts: Object.freeze({
    swReady: 5_000, // the page waits this long for the service worker
    registered: 5_000, // ... and for it to acknowledge a stream
    streamStart: 20_000, // the worker waits this long for the browser to open the stream
    pendingStream: 30_000, // the service worker forgets an unopened stream after this
    keepAlive: 10_000, // the page pings the service worker this often during a download
  }),
});
