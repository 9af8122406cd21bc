// Small display helpers shared by the pages.
import { webAssembly } from './load.js';
// `down`: rounded down, for a limit (a file of the size shown must fit).
export function bytes(n, down = false) {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  const digits = v < 10 ? 1 : 0;
  const shown = down ? Math.floor(v * 10 ** digits) / 10 ** digits : v;
  return `${shown.toFixed(digits)} ${units[u]}`;
}

export function duration(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// "Uploading: 12 MB of 40 MB — 8 MB/s — 4 s left"
// A phase without a total (hashing a password) is shown alone.
export function progressText({ phase, done, total, elapsed }) {
  if (!total) return phase;
  let t = `${phase}: ${bytes(done)} of ${bytes(total)}`;
  if (elapsed > 500 && done > 0) {
    const rate = done / (elapsed / 1000);
    t += ` — ${bytes(rate)}/s — ${duration((total - done) / rate)} left`;
  }
  return t;
}

// The name a file is sent under: a camera-style one (IMG_20240612_101530.jpg)
// is replaced by its neutral name unless the sender keeps the originals.
// `f` is { name, renamed: { name, reveals } | null }.
export const sentName = (f, keepNames) => (f.renamed && !keepNames ? f.renamed.name : f.name);

export function localTime(unix) {
  return new Date(unix * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function show(el, on = true) {
  el.hidden = !on;
}

// Over plain HTTP (not localhost), the page says so: its own integrity is
// only as good as the network's.
export function warnIfInsecure(el) {
  if (el && !window.isSecureContext) show(el, true);
}

// With WebAssembly turned off the pages run the JavaScript build of the
// same code (js/load.js), which is slower: they say so.
export function noteIfNoWasm(el) {
  if (el && !webAssembly) show(el, true);
}
