// The Rust core's `receive` build (the download and deletion pages and the
// download worker), started once for whoever imports this module: `await
// ready` before using any export. It is the WebAssembly module, or its
// JavaScript build where WebAssembly is turned off (js/load.js).
// js/protocol-send.js is the same for the other half, which each page
// loads instead of this one.
//
// P is the HTTP protocol and link syntax, from the core
// (veil_core::protocol): no page code spells a path, a header name or a
// link of its own. (No top-level await: a module worker would lose
// messages that arrive while it waits.)
import { load } from './load.js';

// Paths and lowercase header names (e.g. P.uploads, P.proof, P.uploadOffset),
// and the core's exports, set once `ready` resolves.
export let P = null;
export let Key, Decryptor, solveWork, safeFileName, linkNeedsPassword, parseShareLink, parseDeletionLink, downloadAnswer, previewKind, sealReportKey, solveUploadWork;
export const ready = load('pkg-receive', 'veil').then((m) => {
    ({ Key, Decryptor, solveWork, safeFileName, linkNeedsPassword, parseShareLink, parseDeletionLink, downloadAnswer, previewKind, sealReportKey, solveUploadWork } = m);
  P = Object.freeze(JSON.parse(m.protocolJson()));
});
ready.catch(() => {}); // each user awaits it; this only marks it handled
