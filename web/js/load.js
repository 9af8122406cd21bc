// Starts one of the page's Rust modules (web/pkg-*/): the WebAssembly
// build, or, where the browser has WebAssembly turned off (Tor Browser at
// its "Safer" level), the JavaScript build of the same module beside it
// (web/pkg-*-js/, made from the same wasm by binaryen's wasm2js; see
// scripts/wasm-js.sh). The JavaScript build is several times larger and
// slower, so it is fetched only by browsers that need it. Both builds
// export the same functions and classes.
export const webAssembly = typeof WebAssembly === 'object';

// pkg: 'pkg-send', 'pkg-receive', 'pkg-formats', 'pkg-pdf', 'pkg-qr' or 'pkg-zip'; file: its
// module's name ('veil', 'qr', 'zip'). Resolves to the started module.
// Resolved from this module, not the origin, so that node (the tests) can
// load the same modules from the files.
export async function load(pkg, file) {
  const m = await import(new URL(webAssembly ? `../${pkg}/${file}.js` : `../${pkg}-js/${file}.js`, import.meta.url).href);
  // The WebAssembly build's glue (wasm-bindgen --target web) fetches and
  // instantiates its .wasm in its default export; the JavaScript build
  // (--target bundler) is ready once imported.
  if (webAssembly) await m.default();
  return m;
}
