// The deletion page: /x/{id}#{token}. Deletes only when the sender has
// pressed Delete and then confirmed; "Keep them" steps back.
import { P, ready, parseDeletionLink } from '/js/protocol-receive.js';

const href = location.href;
let link = null;
const $ = (id) => document.getElementById(id);
const status = $('status');
history.replaceState(null, '', location.pathname);

const confirming = (on) => {
  $('confirm').hidden = !on;
  $('delete').hidden = on;
  (on ? $('keep') : $('delete')).focus();
};
$('delete').addEventListener('click', () => confirming(true));
$('keep').addEventListener('click', () => {
  confirming(false);
  status.textContent = 'Nothing was deleted.';
});

$('confirm-delete').addEventListener('click', async (e) => {
  e.target.disabled = true;
  $('keep').disabled = true;
  try {
    await ready;
  } catch (err) {
    status.textContent = `This page could not start: ${err?.message ?? err}. The veil command does the same: veil delete 'LINK'`;
    return;
  }
  try {
    link = parseDeletionLink(href);
    const r = await fetch(`${P.blobs}/${link.id}`, { method: 'DELETE', headers: { [P.authorization]: `Bearer ${link.token}` } });
    status.textContent = r.status === 204
      ? 'Deleted. The files are gone from the server.'
      : 'Nothing to delete: the files are already gone, or this deletion link is wrong.';
    $('confirm').hidden = true;
  } catch (err) {
    // No link: it did not parse, and trying again will not help.
    status.textContent = link
      ? 'The server cannot be reached. Try again.'
      : 'This deletion link is incomplete: part of it is missing.';
    e.target.disabled = !link;
    $('keep').disabled = false;
  }
});
