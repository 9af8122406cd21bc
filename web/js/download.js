// The download page: nothing is fetched until the recipient clicks, so a
// link preview cannot use up a burn-after-reading file.
import init, { linkNeedsPassword } from '/pkg/veil.js';
import { bytes, progressText, localTime, show } from '/js/format.js';

const $ = (id) => document.getElementById(id);
const id = location.pathname.split('/').pop();
const fragment = location.hash.slice(1);
let worker = null;

function error(message) {
  $('error').textContent = message;
  show($('error'), !!message);
}

async function start() {
  await init();
  let needsPassword = false;
  try {
    if (!/^[A-Za-z0-9_-]{22}$/.test(id)) throw new Error('bad id');
    needsPassword = linkNeedsPassword(fragment);
  } catch {
    show($('ask'), false);
    error('This link is incomplete: part of it is missing. Ask the sender to copy the whole link again.');
    return;
  }
  show($('password-row'), needsPassword);
  // The fragment (the key) is kept in memory only; remove it from the address bar and history.
  history.replaceState(null, '', location.pathname);
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
    worker ??= makeWorker();
    worker.postMessage({ type: 'download', id, fragment, password });
  });
}

function makeWorker() {
  const w = new Worker('/js/worker.js', { type: 'module' });
  w.onmessage = ({ data }) => {
    switch (data.type) {
      case 'info':
        $('status').textContent = `${bytes(data.size)} encrypted, expires ${localTime(data.expiresAt)}.`;
        break;
      case 'progress':
        $('bar').max = data.total || 1;
        $('bar').value = data.done;
        $('status').textContent = progressText(data);
        break;
      case 'meta':
        $('working-title').textContent = `Downloading ${data.name}`;
        break;
      case 'downloaded':
        finished(data);
        break;
      case 'error':
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

function finished({ blob, name, mime: type, size, report }) {
  show($('working'), false);
  show($('done'), true);
  $('name').textContent = name;
  $('details').textContent = `${type || 'unknown type'}, ${bytes(size)}.`;
  const url = URL.createObjectURL(blob);
  const save = $('save');
  save.href = url;
  save.download = name;
  // Only pictures and videos are shown inline; never SVG or HTML.
  if (/^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(type)) {
    const img = document.createElement('img');
    img.src = url;
    img.alt = name;
    $('preview').append(img);
  } else if (/^video\/(mp4|webm|quicktime)$/.test(type)) {
    const v = document.createElement('video');
    v.src = url;
    v.controls = true;
    $('preview').append(v);
  }
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
