// The upload page: choose (drop, pick, paste; files and folders) → review
// each file's cleaning report, remove any, set the options → encrypt and
// upload them all as one share in a worker → the link.
import { bytes, progressText, show, warnIfInsecure, noteIfNoWasm, sentName } from '/js/format.js';
import '/js/channels.js';
import { P, ready } from '/js/protocol-send.js';

const M = globalThis.VEIL_CHANNELS.upload;

const $ = (id) => document.getElementById(id);
const worker = new Worker('/js/upload-worker.js', { type: 'module' });

// The files of the share, in order: id -> { name, size (after cleaning),
// state: 'checking' | 'ready' | 'refused' (could not be cleaned) |
// 'unreadable' (must be removed before sending), renamed (the neutral
// name sent instead of a camera-style one, and what that one reveals),
// line (what is said under the name), li }.
const files = new Map();
let nextId = 1;

const EXPIRIES = [
  [300, '5 minutes'], [3600, '1 hour'], [86400, '1 day'], [604800, '7 days'], [2592000, '30 days'],
];

// What the prepared files will take on the server, padding and metadata
// included (the worker measures it with the core after each change), held
// against the server's limit.
let measured = { length: 0, count: 0 };
const maxBlob = () => window.veilConfig?.max_blob_size ?? Infinity;

async function loadConfig() {
  await ready;
  const cfg = await (await fetch(P.config)).json();
  const select = $('expiry');
  const choices = EXPIRIES.filter(([s]) => s <= cfg.max_expiry);
  if (!choices.length || choices[choices.length - 1][0] < cfg.max_expiry) {
    choices.push([cfg.max_expiry, `${Math.round(cfg.max_expiry / 60)} minutes (the longest allowed)`]);
  }
  for (const [secs, label] of choices) {
    const o = new Option(label, String(secs));
    if (secs === Math.min(cfg.default_expiry, cfg.max_expiry)) o.selected = true;
    select.add(o);
  }
  $('downloads').max = String(cfg.max_downloads);
  window.veilConfig = cfg;
  $('limit').textContent = `Up to ${bytes(cfg.largest_file, true)} in all per link.`;
}

function error(message) {
  $('error').textContent = message;
  show($('error'), !!message);
}

// Adds files (each with its path inside a folder, if any) to the share.
function add(entries) {
  const list = entries.filter(({ file }) => file);
  if (!list.length) return;
  error('');
  show($('review'), true);
  for (const { file, path } of list) {
    const id = nextId++;
    const name = path || file.name || 'pasted image';
    const li = document.createElement('li');
    files.set(id, { name, size: file.size, state: 'checking', li });
    render(id, { text: 'Checking…' });
    $('files').append(li);
    worker.postMessage({ type: M.prepare, id, file, path });
  }
  update();
}

// One file's line: its path, its size, what was removed, and a button to
// take it out of the share. Text only: names are the sender's, but shown
// as text all the same.
function render(id, line) {
  const f = files.get(id);
  f.line = line;
  const li = f.li;
  const keep = $('keep-names').checked;
  const { text, cls } = line;
  li.replaceChildren();
  const head = document.createElement('div');
  head.className = 'file-head';
  const name = document.createElement('span');
  name.className = 'file-name';
  name.textContent = sentName(f, keep);
  const size = document.createElement('span');
  size.className = 'file-size';
  size.textContent = bytes(f.size);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary small';
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove ${f.name}`);
  remove.addEventListener('click', () => {
    worker.postMessage({ type: M.remove, id });
    li.remove();
    files.delete(id);
    offerKeepNames();
    update();
  });
  head.append(name, size, remove);
  const note = document.createElement('p');
  note.className = cls ?? 'file-note';
  note.textContent = text;
  li.append(head, note);
  if (f.renamed) {
    const why = f.renamed.reveals === 'time' ? 'when it was taken' : 'the camera and how many pictures it has taken';
    const renamed = document.createElement('p');
    renamed.className = 'file-note';
    renamed.textContent = keep
      ? `Its name, kept as you asked, tells ${why}.`
      : `Sent as ${f.renamed.name}: its name, ${f.name}, tells ${why}.`;
    li.append(renamed);
  }
}

// Camera-style names: sent neutral unless the sender keeps them. The
// choice is offered while any file has one; changing it redraws the list
// (only then: redrawing on every file would be quadratic for a folder).
const offerKeepNames = () => show($('keep-names-row'), [...files.values()].some((f) => f.renamed));
function keepNamesChanged() {
  for (const [id, f] of files) if (f.line) render(id, f.line);
}

function reportText({ media, removed = [], kept = [], format }) {
  if (!media) return { text: 'Not an image: sent as is.' };
  let text = `${format}: ${removed.length ? `removed ${removed.join(', ')}` : 'no metadata found'}.`;
  if (kept.length) text += ` Kept: ${kept.join(', ')}.`;
  return { text, cls: 'removed' };
}

// The summary, the size check and whether Send may be pressed.
let sizeError = false; // the error shown is the size check's
function update() {
  const all = [...files.values()];
  const total = all.reduce((n, f) => n + f.size, 0);
  const refused = all.filter((f) => f.state === 'refused');
  const checking = all.some((f) => f.state === 'checking');
  const unreadable = all.some((f) => f.state === 'unreadable');
  $('review-title').textContent = refused.length
    ? (refused.length === 1 ? '1 file could not be cleaned' : `${refused.length} files could not be cleaned`)
    : (all.length === 1 ? 'Ready to send 1 file' : `Ready to send ${all.length} files`);
  $('summary').textContent = `${bytes(total)} in all, in one link.`;
  show($('strip-warning'), refused.length > 0);
  if (refused.length) {
    $('strip-reason').textContent = `${refused.length === 1 ? 'One file' : `${refused.length} files`} could not be cleaned (see above). Sending unmodified would keep their metadata; you can also remove them.`;
  }
  const tooLarge = measured.length > maxBlob();
  if (tooLarge) {
    sizeError = true;
    error(all.length === 1
      ? `This file is too large for this server: it takes ${bytes(total)}, and a link holds up to ${bytes(window.veilConfig.largest_file, true)}.`
      : `Together these files are too large for this server: they take ${bytes(total)}, and a link holds up to ${bytes(window.veilConfig.largest_file, true)}. Remove some.`);
  }
  else if (sizeError) {
    sizeError = false;
    error('');
  }
  const unmeasured = measured.count !== all.filter((f) => f.state !== 'checking').length;
  $('send').disabled = !all.length || checking || unmeasured || unreadable || tooLarge || (refused.length > 0 && !$('send-unmodified').checked);
  if (!all.length) show($('review'), false);
}

worker.onmessage = ({ data }) => {
  const f = data.id ? files.get(data.id) : null;
  switch (data.type) {
    case M.prepared:
      if (!f) break;
      f.state = 'ready';
      f.renamed = data.renamed;
      f.size = data.size;
      render(data.id, reportText(data));
      offerKeepNames();
      update();
      break;
    case M.stripFailed:
      if (!f) break;
      f.state = 'refused';
      f.renamed = data.renamed;
      render(data.id, { text: `Could not be cleaned: ${data.reason}`, cls: 'warning-text' });
      offerKeepNames();
      update();
      break;
    case M.measured:
      measured = data;
      update();
      break;
    case M.progress:
      $('bar').max = data.total || 1;
      $('bar').value = data.done;
      $('status').textContent = progressText(data);
      break;
    case M.retry:
      $('status').textContent = `Network problem — retrying (attempt ${data.attempt})…`;
      break;
    case M.cancelled:
      show($('working'), false);
      show($('review'), true);
      show($('pick'), true);
      error('Cancelled. Nothing was kept on the server.');
      update();
      break;
    case M.done:
      $('link').value = data.link;
      $('delete-link').value = data.deleteLink;
      // The link is shown even if the result's module could not be had.
      result().then((m) => m.showResult(data, sent)).catch(() => {}).finally(() => {
        show($('working'), false);
        show($('result'), true);
        $('link').focus();
        $('link').select();
      });
      break;
    case M.error:
      if (f) {
        f.state = 'unreadable';
        render(data.id, { text: `Could not be read: ${data.message}. Remove it to send the others.`, cls: 'warning-text' });
        update();
        break;
      }
      show($('working'), false);
      show($('review'), files.size > 0);
      show($('pick'), true);
      error(data.code === 'start'
        ? `This page could not load its encryption code (${data.message}). Check the connection and reload the page.`
        : data.message);
      break;
    default:
  }
};

// What was sent (size, downloads, password), for the result's summary.
let sent = null;
// The result's code (summary, copy, share) is fetched when Send is
// pressed, not with the page (its budget, web/README.md), and before the
// upload, so that a connection lost meanwhile cannot keep the link from
// being shown.
let resultModule = null;
const result = () => {
  resultModule ??= import('/js/result.js');
  resultModule.catch(() => { resultModule = null; });
  return resultModule;
};

function reset() {
  for (const id of files.keys()) worker.postMessage({ type: M.remove, id });
  measured = { length: 0, count: 0 };
  files.clear();
  $('files').replaceChildren();
  show($('review'), false);
  show($('working'), false);
  show($('result'), false);
  show($('pick'), true);
  $('file').value = '';
  $('folder').value = '';
  $('password').value = '';
  showPassword(false);
  $('send-unmodified').checked = false;
  $('keep-names').checked = false;
  show($('keep-names-row'), false);
  error('');
}

// A dropped folder: its files, with their paths, read from the entry tree.
async function walk(entry, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ file, path: entry.fullPath.replace(/^\/+/, '') });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      // readEntries answers in batches; an empty one means the end.
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const e of batch) await walk(e, out);
    }
  }
}

async function dropped(dt) {
  const entries = [...(dt.items ?? [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length || !entries.some((e) => e.isDirectory)) {
    add([...dt.files].map((file) => ({ file })));
    return;
  }
  const out = [];
  for (const e of entries) await walk(e, out);
  add(out);
}

$('file').addEventListener('change', (e) => {
  add([...e.target.files].map((file) => ({ file })));
  e.target.value = '';
});
// A folder picker where the browser has one.
if ('webkitdirectory' in HTMLInputElement.prototype) show($('folder-row'), true);
$('folder').addEventListener('change', (e) => {
  add([...e.target.files].map((file) => ({ file, path: file.webkitRelativePath })));
  e.target.value = '';
});
// Files may be dropped anywhere on the page, not only on the zone: a
// file dropped beside it would otherwise be opened by the browser, and
// the page (with what was chosen) lost. While choosing, the whole page
// shows that it takes the drop; later (sending, the link) a drop is
// refused without leaving.
const drop = $('drop');
const dragging = (on) => {
  drop.classList.toggle('over', on);
  document.body.classList.toggle('dragging', on && !$('pick').hidden);
};
document.addEventListener('dragover', (e) => {
  if (!e.dataTransfer?.types?.includes('Files')) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = $('pick').hidden ? 'none' : 'copy';
  dragging(true);
});
document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) dragging(false); });
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dragging(false);
  if ($('pick').hidden || !e.dataTransfer) return;
  dropped(e.dataTransfer).catch((err) => error(`The dropped files could not be read: ${err?.message ?? err}`));
});
// Leaving while the files are being sent would lose the upload.
window.addEventListener('beforeunload', (e) => {
  if ($('working').hidden) return;
  e.preventDefault();
  e.returnValue = '';
});
// The drop zone and the folder button are labels made focusable; their
// inputs are hidden and out of the Tab order, so Enter or Space opens them.
const opens = (el, input) => el.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    $(input).click();
  }
});
opens(drop, 'file');
opens($('folder-button'), 'folder');
document.addEventListener('paste', (e) => {
  const pasted = [...(e.clipboardData?.items ?? [])].filter((i) => i.kind === 'file').map((i) => ({ file: i.getAsFile() }));
  if (pasted.length && !$('pick').hidden) add(pasted);
});
$('send-unmodified').addEventListener('change', update);
$('keep-names').addEventListener('change', keepNamesChanged);
$('burn').addEventListener('change', (e) => {
  $('downloads').disabled = e.target.checked;
});
$('options').addEventListener('submit', (e) => {
  e.preventDefault();
  error('');
  const downloads = $('burn').checked ? 1 : Number($('downloads').value) || 0;
  show($('pick'), false);
  show($('review'), false);
  show($('working'), true);
  $('status').textContent = 'Encrypting…';
  sent = {
    size: [...files.values()].reduce((n, f) => n + f.size, 0),
    downloads,
    password: !!$('password').value,
    // Shown in the summary only if it is on the screen already.
    shownPassword: $('password').type === 'text' ? $('password').value : null,
  };
  result();
  worker.postMessage({
    type: M.send,
    unmodified: $('send-unmodified').checked,
    options: { expiresIn: Number($('expiry').value), maxDownloads: downloads, password: $('password').value, keepNames: $('keep-names').checked },
  });
  $('password').value = '';
  showPassword(false);
});
// The password: shown on demand, or made here (100 bits from the browser's
// CSPRNG, in groups easy to read aloud and type), and then shown, since
// the sender has to pass it on.
const PASSWORD_LETTERS = 'abcdefghijkmnpqrstuvwxyz23456789'; // 32: no 0/o, 1/l
function showPassword(on) {
  $('password').type = on ? 'text' : 'password';
  $('password-show').textContent = on ? 'Hide' : 'Show';
  $('password-show').setAttribute('aria-pressed', String(on));
}
$('password-show').addEventListener('click', () => showPassword($('password').type === 'password'));
$('password-generate').addEventListener('click', () => {
  const r = crypto.getRandomValues(new Uint8Array(20));
  const letters = [...r].map((b) => PASSWORD_LETTERS[b & 31]).join('');
  $('password').value = letters.match(/.{5}/g).join('-');
  showPassword(true);
  $('password').focus();
  $('password').select();
});
// On a Mac, paste is ⌘V.
if (/Mac|iPhone|iPad/.test(navigator.platform)) $('paste-key').textContent = '⌘V';
$('reset').addEventListener('click', reset);
$('again').addEventListener('click', reset);
$('cancel').addEventListener('click', () => worker.postMessage({ type: M.cancel }));
warnIfInsecure($('insecure'));
noteIfNoWasm($('no-wasm'));
// Before `ready`, a failure is the core's; after it, the server's.
loadConfig().catch((e) => error(P ? 'The server cannot be reached.' : `This page could not start: ${e?.message ?? e}. The veil command does the same: veil send FILE…`));
