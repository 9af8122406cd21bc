// The HTTP protocol and link syntax, from the Rust core
// (veil_core::protocol through the wasm exports): no page code spells a
// path, a header name or a link of its own. This is the `send` build's
// (the upload page and its worker); js/protocol-receive.js is the same for the other
// build, which each page loads instead of this half.
//
// This module also starts the wasm module, once, for whoever imports it:
// `await ready` before using P or any export. (No top-level await: a
// module worker would lose messages that arrive while it waits.)
import init, { protocolJson } from '../pkg-send/veil.js';

// Paths and lowercase header names (e.g. P.uploads, P.proof, P.uploadOffset),
// set once `ready` resolves.
export let P = null;
// Without WebAssembly (turned off, as at Tor Browser's "Safer" level) the
// module cannot start: `ready` rejects with a NoWebAssembly error the
// pages word for people (js/format.js), instead of a raw ReferenceError.
export const ready = typeof WebAssembly === 'object'
  ? init().then(() => { P = Object.freeze(JSON.parse(protocolJson())); })
  : Promise.reject(Object.assign(new Error('no WebAssembly'), { code: 'no-wasm' }));
ready.catch(() => {}); // each user awaits it; this only marks it handled
export { shareLink, deletionLink, uploadMetadata } from '../pkg-send/veil.js';
