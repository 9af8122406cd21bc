// Runs inside a dedicated Worker: times raw WebCrypto and both wasm
// encryption paths over the same bytes, and Argon2id with default params.
// The page's two builds of the core: encryption is the upload page's,
// decryption the download page's (a key is unlocked in each module that
// uses it). `build` picks the WebAssembly modules ('wasm') or their
// JavaScript builds ('js', what pages load without WebAssembly).
let Key, Encryptor, newLink, defaultRecordSize, ReceiveKey, Decryptor;

async function load(build) {
  const suffix = build === 'js' ? '-js' : '';
  const send = await import(`/pkg-send${suffix}/veil.js`);
  const receive = await import(`/pkg-receive${suffix}/veil.js`);
  if (build !== 'js') {
    await send.default();
    await receive.default();
  }
  ({ Key, Encryptor, newLink, defaultRecordSize } = send);
  ({ Key: ReceiveKey, Decryptor } = receive);
}

const RS = 64 * 1024;
let CHUNK = 1 << 20; // bytes handed over per call, as the page does

async function rawWebCrypto(total, chunk) {
  const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt']);
  const iv = new Uint8Array(12);
  const t0 = performance.now();
  let out = 0;
  for (let done = 0; done < total; done += chunk.length) {
    const jobs = [];
    for (let off = 0; off < chunk.length; off += RS) {
      iv[0] = (iv[0] + 1) & 0xff; iv[1] = off >> 16; // distinct nonces, as a real stream would use
      jobs.push(crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv.slice() }, key, chunk.subarray(off, off + RS)));
    }
    for (const r of await Promise.all(jobs)) out += r.byteLength;
  }
  return { ms: performance.now() - t0, out };
}

const size = (parts) => parts.reduce((n, b) => n + b.byteLength, 0);

async function wasmPath(total, chunk, subtle) {
  const key = Key.unlock(newLink(false));
  const enc = new Encryptor(key, 'bench.bin', 'application/octet-stream', total, [], defaultRecordSize());
  const t0 = performance.now();
  let out = enc.header().length;
  for (let done = 0; done < total; done += chunk.length) {
    out += subtle ? size(await enc.pushAsync(chunk)) : enc.push(chunk).length;
  }
  // Padding is part of the work a real upload does.
  while (enc.paddingLeft() > 0) out += subtle ? size(await enc.padAsync(CHUNK)) : enc.pad(CHUNK).length;
  out += subtle ? size(await enc.finishAsync()) : enc.finish().length;
  return { ms: performance.now() - t0, out };
}

// Decryption through pushAsync, as the download worker runs it: 4 MiB
// batches, up to 4 in flight, awaited in order.
async function wasmDecrypt(total, chunk) {
  const fragment = newLink(false);
  const enc = new Encryptor(Key.unlock(fragment), 'bench.bin', 'application/octet-stream', total, [], defaultRecordSize());
  const sealed = new Uint8Array(enc.containerLength());
  let at = 0;
  const put = (parts) => { for (const p of parts) { sealed.set(new Uint8Array(p), at); at += p.byteLength; } };
  put([enc.header()]);
  for (let done = 0; done < total; done += chunk.length) put(await enc.pushAsync(chunk));
  while (enc.paddingLeft() > 0) put(await enc.padAsync(CHUNK));
  put(await enc.finishAsync());
  const dec = new Decryptor(ReceiveKey.unlock(fragment));
  const t0 = performance.now();
  const queue = [];
  let out = 0;
  for (let off = 0; off < sealed.length; off += 4 << 20) {
    queue.push(dec.pushAsync(sealed.subarray(off, off + (4 << 20))));
    while (queue.length > 3) out += size(await queue.shift());
  }
  while (queue.length) out += size(await queue.shift());
  dec.finish();
  if (out !== total) throw new Error(`decrypted ${out} of ${total}`);
  return { ms: performance.now() - t0, out };
}

function argon() {
  const frag = newLink(true);
  const t0 = performance.now();
  Key.unlock(frag, 'correct horse battery staple').free();
  return performance.now() - t0;
}

self.onmessage = async ({ data: { sizes, runs, chunkSize, build, skip } }) => {
  CHUNK = chunkSize || CHUNK;
  try {
    await load(build);
    const chunk = new Uint8Array(CHUNK).map((_, i) => i * 7);
    const results = {};
    for (const size of sizes) {
      const r = { webcrypto: [], wasm_subtle: [], wasm_aesgcm: [], wasm_subtle_decrypt: [] };
      const rate = async (f) => size / 1e6 / ((await f()).ms / 1000);
      // `skip` leaves out paths too slow to time at this size (the
      // aes-gcm path without JIT).
      for (let i = 0; i < runs; i++) {
        if (!skip.includes('webcrypto')) r.webcrypto.push(await rate(() => rawWebCrypto(size, chunk)));
        if (!skip.includes('wasm_subtle')) r.wasm_subtle.push(await rate(() => wasmPath(size, chunk, true)));
        if (!skip.includes('wasm_aesgcm')) r.wasm_aesgcm.push(await rate(() => wasmPath(size, chunk, false)));
        if (!skip.includes('wasm_subtle_decrypt')) r.wasm_subtle_decrypt.push(await rate(() => wasmDecrypt(size, chunk)));
      }
      results[size] = r;
    }
    const argonMs = [];
    for (let i = 0; i < (skip.includes('argon') ? 0 : runs); i++) argonMs.push(argon());
    self.postMessage({ results, argonMs, webcrypto: Encryptor.webCryptoAvailable() });
  } catch (e) {
    self.postMessage({ error: String(e && e.stack || e) });
  }
};
