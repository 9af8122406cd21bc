// The Rust core's `send` build (the upload page and its worker), started
// once for whoever imports this module: `await ready` before using any
// export. It is the WebAssembly module, or its JavaScript build where
// WebAssembly is turned off (js/load.js). js/protocol-receive.js is the
// same for the other half, which each page loads instead of this one.
//
// P is the HTTP protocol and link syntax, from the core
// (veil_core::protocol): no page code spells a path, a header name or a
// link of its own. (No top-level await: a module worker would lose
// messages that arrive while it waits.)
import { load } from './load.js';

// Paths and lowercase header names (e.g. P.uploads, P.proof, P.uploadOffset),
// and the core's exports, set once `ready` resolves.
export let P = null;
export let Key, Encryptor, shareLength, newLink, stripMetadata, sniffType, isMedia, cleanerModule, cameraName, asIsReport, shareLink, deletionLink, uploadMetadata, solveUploadWork;
export const ready = load('pkg-send', 'veil').then((m) => {
  ({ Key, Encryptor, shareLength, newLink, stripMetadata, sniffType, isMedia, cleanerModule, cameraName, asIsReport, shareLink, deletionLink, uploadMetadata, solveUploadWork } = m);
  P = Object.freeze(JSON.parse(m.protocolJson()));
});
ready.catch(() => {}); // each user awaits it; this only marks it handled
