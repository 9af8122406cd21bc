// The transparency page: the server's live counters (GET
// /api/v1/transparency, docs/API.md "Transparency"), no per-blob or
// per-person data exists to show. The one page that spells its API path
// itself: loading the core (60 KB) for one path would be the wrong trade.
import { bytes, localTime, show } from '/js/format.js';

const $ = (id) => document.getElementById(id);
const n = (v) => new Intl.NumberFormat().format(v ?? 0);

function rows(dl, pairs) {
  dl.replaceChildren();
  for (const [label, value] of pairs) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

async function start() {
  const r = await fetch('/api/v1/transparency', { cache: 'no-store' });
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  const t = await r.json();
  $('holds').textContent = t.holds;
  rows($('now'), [['Encrypted blobs', n(t.stored?.blobs)], ['Their size', bytes(t.stored?.bytes ?? 0)]]);
    if (t.since) $('totals-title').textContent = `Since ${localTime(t.since)}`;
  if (t.as_of) $('as-of').textContent = `Counted ${localTime(t.as_of)}${t.every ? `; counted again every ${Math.round(t.every / 60)} minutes, so that no single report or upload can be timed from here` : ''}.`;
  rows($('totals'), [
    ['Uploads', n(t.uploads)],
    ['Downloads', n(t.downloads)],
    ['Deleted by their sender', n(t.deletions?.by_owner)],
    ['Expired', n(t.deletions?.by_expiry)],
    ['Used up (download limit)', n(t.deletions?.by_burn)],
    ['Removed by the operator', n(t.deletions?.by_operator)],
  ]);
  rows($('moderation'), [
    ['Reports received', n(t.reports?.received)],
    ['Reports acted on (removed)', n(t.reports?.actioned)],
    ['Reports dismissed', n(t.reports?.dismissed)],
    ['Legal requests received', n(t.legal_requests)],
  ]);
}

start().catch((e) => {
  $('error').textContent = `The counters could not be loaded: ${e?.message ?? e}.`;
  show($('error'), true);
});
