// The download page: it first looks at what the link holds (the share's
// sealed list of files, fetched with the key's proof; this consumes
// nothing), then downloads only when the recipient chooses what: one
// file, a selection, or everything. A link preview, which has no key,
// can do neither.
import { bytes, progressText, localTime, show, warnIfInsecure, noteIfNoWasm } from '/js/format.js';
import '/js/channels.js';
import { P, ready, parseShareLink, previewKind, linkNeedsPassword, sealReportKey, solveUploadWork } from '/js/protocol-receive.js';
import { webAssembly } from '/js/load.js';

const { download: M, stream: S, timeouts: T, sizes: Z } = globalThis.VEIL_CHANNELS;
const $ = (id) => document.getElementById(id);
// The link's syntax is the core's; a malformed one is reported in start().
let link = null;
let id;
let fragment = '';
// The password the recipient opened the link with (for a report's sealed
// key, if they choose to include it).
let openedWith = null;
let worker = null;
// The service worker that streams large downloads to disk, if the browser
// allows one (not in some private modes); registered on load so that it is
// ready by the time a large file's first bytes are decrypted.
const streamer = 'serviceWorker' in navigator
  ? ready.then(() => navigator.serviceWorker.register('/sw.js', { scope: P.sharePrefix })).then(() => navigator.serviceWorker.ready).catch(() => null)
  : Promise.resolve(null);
let keepAlive = null;
// The per-file Download buttons of the list shown, by file index.
let fileButtons = [];

function error(message) {
  $('error').textContent = message;
  show($('error'), !!message);
}

async function start() {
  try {
    await ready;
  } catch (e) {
    show($('ask'), false);
    error(`This page could not start: ${e?.message ?? e}. The veil command does the same: veil get 'LINK'`);
    return;
  }
  let needsPassword = false;
  try {
    link = parseShareLink(location.href);
    ({ id, fragment } = link);
    needsPassword = linkNeedsPassword(fragment);
  } catch {
    show($('ask'), false);
    error('This link is incomplete: part of it is missing. Ask the sender to copy the whole link again.');
    return;
  }
  // The fragment (the key) is kept in memory only; remove it from the address bar and history.
  history.replaceState(null, '', location.pathname);
  worker = makeWorker();
  if (!needsPassword) {
    // Looking consumes nothing (and needs the key, which no link preview has).
    worker.postMessage({ type: M.look, id, fragment, password: null });
    return;
  }
  $('ask-note').textContent = 'This link needs a password. Nothing is downloaded until you choose.';
  show($('unlock-form'), true);
  $('password').focus();
  $('unlock-form').addEventListener('submit', (e) => {
    e.preventDefault();
    error('');
    const password = $('password').value;
    if (!password) {
      error('Enter the password the sender gave you.');
      return;
    }
    $('ask-note').textContent = webAssembly ? 'Checking the password…' : 'Checking the password (up to a minute without WebAssembly)…';
    $('unlock').disabled = true;
    openedWith = password;
    worker.postMessage({ type: M.look, id, fragment, password });
  });
}

// Whether the share's downloads are limited, for what Cancel says.
let share = null;

// What the share holds, before anything is consumed: each file with its
// size, type and what was removed from it; the terms (expiry, downloads
// left); and the buttons that download (one file, a selection, all).
function contents({ files, expiresAt, downloadsLeft }) {
  share = { limited: downloadsLeft > 0 };
  show($('ask'), false);
  show($('abuse'), true);
  show($('contents'), true);
  const many = files.length > 1;
  const total = files.reduce((n, f) => n + f.size, 0);
  $('contents-title').textContent = many ? `${files.length} files, ${bytes(total)}` : files[0].name;
  const terms = [];
  if (downloadsLeft === 1) {
    terms.push(many
      ? 'This link works once: the first download — everything, a selection or one file — uses it up, and the other files are gone with it.'
      : 'This link works once: downloading uses it up.');
  } else if (downloadsLeft > 1) {
    terms.push(`${downloadsLeft} downloads left; each download${many ? ' (everything, a selection or one file)' : ''} uses one.`);
  }
  if (expiresAt) terms.push(`Expires ${localTime(expiresAt)}.`);
  $('terms').textContent = terms.join(' ');
  const list = $('file-list');
  list.replaceChildren();
  fileButtons = [];
  files.forEach((f, i) => {
    const li = document.createElement('li');
    const head = document.createElement('div');
    head.className = 'file-head';
    if (many) {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = 'pick';
      box.dataset.index = String(i);
      box.setAttribute('aria-label', `Select ${f.name}`);
      box.addEventListener('change', selectionChanged);
      head.append(box);
    }
    const name = document.createElement('span');
    name.className = 'file-name';
    name.textContent = f.name;
    const size = document.createElement('span');
    size.className = 'file-size';
    size.textContent = `${f.type || 'unknown type'}, ${bytes(f.size)}`;
    head.append(name, size);
    if (many) {
      const one = document.createElement('button');
      one.type = 'button';
      one.className = 'secondary small';
      one.textContent = 'Download';
      one.setAttribute('aria-label', `Download ${f.name} only`);
      one.addEventListener('click', () => fetchFiles([i]));
      fileButtons[i] = one;
      head.append(one);
    }
    li.append(head);
    const removed = (f.report ?? []).filter((l) => l.startsWith('removed: ')).map((l) => l.slice('removed: '.length));
    const note = document.createElement('p');
    note.className = removed.length ? 'removed' : 'file-note';
    note.textContent = removed.length ? `The sender's Veil removed: ${removed.join(', ')}.` : (f.report ?? []).join(' ');
    li.append(note);
    list.append(li);
  });
  $('download').textContent = many ? `Download everything (ZIP, ${bytes(total)})` : `Download (${bytes(total)})`;
  planSaving(files, total);
  $('download').onclick = () => fetchFiles(files.map((_, i) => i));
  show($('download-selected'), many);
  $('download-selected').onclick = () => fetchFiles([...document.querySelectorAll('.pick:checked')].map((b) => Number(b.dataset.index)));
  // Enabled only now: a click before this point would have done nothing.
  $('download').disabled = false;
  $('download').focus();
}

// How a download of `size` bytes would be saved here, decided before any
// button is pressed: in memory (small files, or large ones where the
// browser can do nothing else, up to a limit), to a file the recipient
// picks, or to the downloads through the service worker; or not at all.
async function saveWay(size) {
  if (size <= Z.inMemory) return 'memory';
  if (typeof window.showSaveFilePicker === 'function') return 'picker';
  if ((await within(streamer, T.swReady))?.active) return 'stream';
  return size <= Z.memoryMax ? 'large-memory' : 'none';
}

const WAYS = {
  picker: 'Large: you choose where it is written, as it is decrypted.',
  stream: 'Large: it goes to your downloads as it is decrypted.',
  'large-memory': `This browser can neither stream to disk nor let you pick a file (no service worker, as in a private window): it is decrypted in memory (up to ${bytes(Z.memoryMax)}), then saved with Save.`,
};

// Says how "everything" would be saved, and disables what this browser
// cannot save at all (pointing to the CLI), before anything is consumed.
async function planSaving(files, total) {
  const way = await saveWay(total);
  const note = $('save-way');
  note.textContent = WAYS[way] ?? '';
  if (way !== 'none') return;
  $('download').disabled = true;
  note.textContent = `This is too large to save in this browser (over ${bytes(Z.memoryMax)} with no service worker or save picker, as in a private window). Nothing was downloaded. Use another browser, or the veil command: veil get '${location.origin}${location.pathname}#${fragment}'` + (files.length > 1 ? ' (or download the files one at a time here).' : '');
  for (const [i, f] of files.entries()) {
    if ((await saveWay(f.size)) !== 'none') continue;
    if (fileButtons[i]) fileButtons[i].disabled = true;
  }
}

function selectionChanged() {
  const n = document.querySelectorAll('.pick:checked').length;
  $('download-selected').disabled = n === 0;
  $('download-selected').textContent = n ? `Download the ${n} selected` : 'Download the selected files';
}

function fetchFiles(indices) {
  if (!indices.length) return;
  $('cancel').disabled = false;
  error('');
  show($('contents'), false);
  show($('working'), true);
  worker.postMessage({ type: M.fetch, files: indices });
}

function makeWorker() {
  const w = new Worker('/js/download-worker.js', { type: 'module' });
  w.onmessage = ({ data }) => {
    switch (data.type) {
      case M.contents:
        contents(data);
        break;
      case M.progress:
        // Before a download (during the look) the progress bar is hidden:
        // what the worker is doing is said where the recipient is looking.
        if ($('working').hidden) {
          $('ask-note').textContent = progressText(data);
          break;
        }
        $('bar').max = data.total || 1;
        $('bar').value = data.done;
        $('status').textContent = progressText(data);
        break;
      case M.meta:
        $('working-title').textContent = `Downloading ${data.name}`;
        if (data.stream) saveTarget(data).then((where) => w.postMessage({ type: M.sink, ...where }, where.port ? [where.port] : []));
        break;
      case M.downloaded:
        finished(data);
        break;
      case M.saved:
        stopStreaming();
        finished(data);
        break;
      case M.error:
        stopStreaming();
        show($('working'), false);
        if (data.code === 'password') {
          show($('ask'), true);
          $('unlock').disabled = false;
          $('ask-note').textContent = 'This link needs a password. Nothing is downloaded until you choose.';
          $('password').value = '';
          $('password').focus();
        } else if (data.code === 'look') {
          show($('ask'), false);
        } else if (data.code === 'cancelled') {
          // The server counted the download when it began to answer it.
          show($('contents'), true);
          error(`Cancelled: nothing was saved.${share?.limited ? ' This download still counted against the link\'s limit; the server says whether it can be opened again.' : ''}`);
          return;
        } else if (data.code !== 'damaged' && $('file-list').childElementCount) {
          // Cut off or cancelled: the list stays, to try again (the server
          // says if nothing is left).
          show($('contents'), true);
        }
        error(data.message);
        break;
      default:
    }
  };
  return w;
}

// Where a large file goes: a file the recipient picks when the browser has
// a save picker and the click that started the download still counts as a
// user gesture; else the browser's downloads through the service worker;
// else memory. Cancelling the picker keeps the file in memory, with a Save
// button, so a burn-after-reading file is not lost.
async function saveTarget(meta) {
  if (typeof window.showSaveFilePicker === 'function' && navigator.userActivation?.isActive !== false) {
    try {
      return { handle: await window.showSaveFilePicker({ suggestedName: meta.name }) };
    } catch (e) {
      if (e?.name === 'AbortError') return {};
      // No gesture any more, or no picker here: try the next way.
    }
  }
  const port = await streamTo(meta);
  return port ? { port } : {};
}

const within = (promise, ms) => Promise.race([promise, new Promise((resolve) => { setTimeout(resolve, ms, null); })]);

// Opens a download stream in the service worker and returns the port that
// feeds it (for the decrypting worker), or null to keep the file in memory.
async function streamTo({ name, size }) {
  try {
    const sw = (await within(streamer, T.swReady))?.active;
    if (!sw) return null;
    const { port1, port2 } = new MessageChannel();
    const registered = new Promise((resolve) => { port1.onmessage = ({ data }) => resolve(data?.type === S.registered); });
    const streamId = crypto.randomUUID();
    sw.postMessage({ type: S.stream, id: streamId, name, size }, [port2]);
    if (!(await within(registered, T.registered))) return null;
    port1.onmessage = null;
    // Messages keep the service worker alive while the browser writes the file.
    keepAlive = setInterval(() => sw.postMessage({ type: S.ping }), T.keepAlive);
    // The worker gets the port before the frame exists, so no request from
    // the service worker can reach this page instead.
    setTimeout(() => {
      const frame = document.createElement('iframe');
      frame.hidden = true;
      frame.id = 'stream-frame';
      frame.src = `${globalThis.VEIL_CHANNELS.streamPath}${streamId}`;
      document.body.append(frame);
    });
    return port1;
  } catch {
    return null;
  }
}

function stopStreaming() {
  clearInterval(keepAlive);
  keepAlive = null;
}

// Leaving mid-download loses it (and, for a limited link, the download).
window.addEventListener('beforeunload', (e) => {
  if ($('working').hidden) return;
  e.preventDefault();
  e.returnValue = '';
});
$('cancel').addEventListener('click', () => {
  $('cancel').disabled = true;
  worker.postMessage({ type: M.cancel });
});

function finished({ blob, name, mime: type, size, report, where, count }) {
  show($('working'), false);
  show($('done'), true);
  $('name').textContent = name;
  $('details').textContent = count > 1 ? `${count} files in a ZIP, ${bytes(size)}.` : `${type || 'unknown type'}, ${bytes(size)}.`;
  reportRemoved(report);
  if (!blob) {
    // Streamed to disk: the browser's downloads hold the file, not this page.
    $('details').textContent += where === 'picked' ? ' Saved where you chose.' : ' Saved to your downloads.';
    show($('save'), false);
    return;
  }
  const url = URL.createObjectURL(blob);
  const save = $('save');
  save.href = url;
  save.download = name;
  // Saved at once, as a plain download would be: held by this page alone
  // (and a burned share cannot be fetched again), it would be lost with
  // the tab. Save again stays, for a browser that asked where and was told
  // no, or a recipient who wants a second copy.
  save.click();
  $('details').textContent += ' Saved to your downloads.';
  // Only pictures and videos are shown inline, never SVG or HTML (the core's list).
  const kind = previewKind(type);
  if (kind === 'image') {
    const img = document.createElement('img');
    img.src = url;
    img.alt = name;
    $('preview').append(img);
  } else if (kind === 'video') {
    const v = document.createElement('video');
    v.src = url;
    v.controls = true;
    $('preview').append(v);
  }
}

function reportRemoved(report) {
  const lines = (report ?? []).filter((l) => l.startsWith('removed: '));
  if (lines.length) {
    for (const l of lines) {
      const li = document.createElement('li');
      li.textContent = l.slice('removed: '.length);
      $('report').append(li);
    }
    show($('report-box'), true);
  }
}

warnIfInsecure($('insecure'));
noteIfNoWasm($('no-wasm'));
start().catch((e) => error(String(e?.message ?? e)));

// A report to the operator: the category and text, and (by default) the
// link's key and password sealed here to the operator's public key
// (/api/v1/config), which the server cannot open (docs/API.md, "Reports").
async function sendReport(e) {
  e.preventDefault();
  const status = $('abuse-status');
  $('abuse-send').disabled = true;
  status.textContent = 'Sending…';
  try {
    const config = await (await fetch(P.config, { cache: 'no-store' })).json();
    let key = null;
    if ($('abuse-key').checked && config.report_key) {
      key = sealReportKey(config.report_key, id, fragment, openedWith ?? undefined);
    }
        const body = JSON.stringify({ id, category: $('abuse-category').value, text: $('abuse-text').value, key });
    const post = (extra) => fetch(P.reports, { method: 'POST', headers: { 'content-type': 'application/json', ...extra }, body });
    let r = await post({});
    const challenge = r.status === 429 ? r.headers.get(P.workChallenge) : null;
    if (challenge) {
      // The server asks reports for the same proof of work as uploads.
      status.textContent = 'Sending (the server asks for a little proof of work first)…';
      await new Promise((resolve) => setTimeout(resolve, 0));
      r = await post({ [P.work]: `${challenge} ${solveUploadWork(challenge, Number(r.headers.get(P.workBits)))}` });
    }
    if (r.status === 202) {
      status.textContent = key ? 'Thank you: the report and the sealed key were sent. Nothing about you was kept.' : 'Thank you: the report was sent. Nothing about you was kept.';
      $('abuse-form').querySelectorAll('select, textarea, input').forEach((el) => { el.disabled = true; });
      return;
    }
    const why = (await r.json().catch(() => ({}))).error ?? `the server answered ${r.status}`;
    status.textContent = `The report was not sent: ${why}.`;
  } catch (err) {
    status.textContent = `The report was not sent: ${err?.message ?? err}.`;
  }
  $('abuse-send').disabled = false;
}

$('abuse-form').addEventListener('submit', sendReport);
// Without a report key on the server there is no key to include.
ready.then(() => fetch(P.config, { cache: 'no-store' })).then((r) => r.json()).then((c) => {
  if (!c.report_key) {
    $('abuse-key').checked = false;
    show($('abuse-key-row'), false);
    show($('abuse-key-why'), false);
  }
}).catch(() => {});
