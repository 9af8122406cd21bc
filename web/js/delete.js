// The deletion page: /x/{id}#{token}. Deletes only when the button is pressed.
import { P, ready, parseDeletionLink } from '/js/protocol-receive.js';

const href = location.href;
let link = null;
const status = document.getElementById('status');
history.replaceState(null, '', location.pathname);

document.getElementById('delete').addEventListener('click', async (e) => {
  e.target.disabled = true;
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
      ? 'Deleted. The file is gone from the server.'
      : 'Nothing to delete: the file is already gone, or this deletion link is wrong.';
  } catch (err) {
    // No link: it did not parse, and trying again will not help.
    status.textContent = link
      ? 'The server cannot be reached. Try again.'
      : 'This deletion link is incomplete: part of it is missing.';
    e.target.disabled = !link;
  }
});
