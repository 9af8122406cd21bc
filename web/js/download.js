// The download page: nothing is fetched until the recipient clicks, so a
// link preview cannot use up a burn-after-reading file.
import { linkNeedsPassword } from '/pkg/veil.js';
import { bytes, progressText, localTime, show } from '/js/format.js';
import '/js/channels.js';
import { P, ready, parseShareLink, previewKind } from '/js/protocol.js';

const { download: M, stream: S, timeouts: T } = globalThis.VEIL_CHANNELS;
const $ = (id) => document.getElementById(id);
// The link's syntax is the core's; a malformed one is reported in start().
let link = null;
let id;
let fragment = '';
let worker = null;
// The service worker that streams large downloads to disk, if the browser
// allows one (not in some private modes); registered on load so that it is
// ready by the time a large file's first bytes are decrypted.
const streamer = 'serviceWorker' in navigator
  ? ready.then(() => navigator.serviceWorker.register('/sw.js', { scope: P.sharePrefix })).then(() => navigator.serviceWorker.ready).catch(() => null)
  : Promise.resolve(null);
let keepAlive = null;

function error(message) {
  $('error').textContent = message;
  show($('error'), !!message);
}

async function start() {
  await ready;
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
  show($('password-row'), needsPassword);
  // The fragment (the key) is kept in memory only; remove it from the address bar and history.
  history.replaceState(null, '', location.pathname);
  // Started now (it fetches only this site's scripts) so a click is answered at once.
  worker = makeWorker();
  $('get').addEventListener('submit', (e) => {
    e.preventDefault();
    error('');
    const password = needsPassword ? $('password').value : null;
    if (needsPassword && !password) {
      error('Enter the password the sender gave you.');
      return;
    }
    show($('ask'), false);
    show($('working'), true);
    worker.postMessage({ type: M.download, id, fragment, password });
  });
  // Enabled only now: a click before this point would have done nothing.
  $('download').disabled = false;
}

function makeWorker() {
  const w = new Worker('/js/download-worker.js', { type: 'module' });
  w.onmessage = ({ data }) => {
    switch (data.type) {
      case M.info:
        $('status').textContent = `${bytes(data.size)} encrypted, expires ${localTime(data.expiresAt)}.`;
        break;
      case M.progress:
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
          $('password').value = '';
          $('password').focus();
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

function finished({ blob, name, mime: type, size, report, where }) {
  show($('working'), false);
  show($('done'), true);
  $('name').textContent = name;
  $('details').textContent = `${type || 'unknown type'}, ${bytes(size)}.`;
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

start().catch((e) => error(String(e?.message ?? e)));
