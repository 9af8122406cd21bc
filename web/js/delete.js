// The deletion page: /x/{id}#{token}. Deletes only when the button is pressed.
const id = location.pathname.split('/').pop();
const token = location.hash.slice(1);
const status = document.getElementById('status');
history.replaceState(null, '', location.pathname);

document.getElementById('delete').addEventListener('click', async (e) => {
  e.target.disabled = true;
  try {
    const r = await fetch(`/api/v1/blobs/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    status.textContent = r.status === 204
      ? 'Deleted. The file is gone from the server.'
      : 'Nothing to delete: the file is already gone, or this deletion link is wrong.';
  } catch {
    status.textContent = 'The server cannot be reached. Try again.';
    e.target.disabled = false;
  }
});
