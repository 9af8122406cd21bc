#!/usr/bin/env node
// Removes the JSDoc blocks wasm-bindgen copies from the Rust doc comments
// into a module's JavaScript glue (about a quarter of the upload page's
// glue, gzipped). The pages never read them; the Rust source keeps them.
//
//   node scripts/trim-glue.mjs FILE…
//
// wasm-bindgen writes each block on lines of their own, from a line that
// begins with `/**` to one that ends with `*/`; nothing else in the glue
// starts a line that way. The result is parsed as a module before it is written, so a block that
// was not one fails the build instead of shipping broken glue.
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

for (const file of process.argv.slice(2)) {
  const kept = [];
  let inDoc = false;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const t = line.trim();
    if (!inDoc && t.startsWith("/**")) inDoc = true;
    if (!inDoc) kept.push(line);
    if (inDoc && t.endsWith("*/")) inDoc = false;
  }
  if (inDoc) throw new Error(`${file}: a doc block does not end`);
  const text = kept.join("\n");
  execFileSync(process.execPath, ["--input-type=module", "--check"], { input: text, stdio: ["pipe", "inherit", "inherit"] });
  writeFileSync(file, text);
}
