#!/usr/bin/env bash
# Runs each cargo-fuzz target for FUZZ_SECONDS (default 60) on nightly,
# seeding the decryptor with the test-vector containers. Prints exec counts.
set -euo pipefail
cd "$(dirname "$0")/../wasm-core"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
export PATH="$HOME/.cargo/bin:$PATH"
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/decrypt fuzz/corpus/header fuzz/corpus/strip fuzz/corpus/manifest
# Small corpus pictures seed the stripper (large ones slow libFuzzer down).
find ../tests/corpus -type f -size -200k ! -name "*.tsv" -exec cp {} fuzz/corpus/strip/ \;
# Each audio and JPEG XL parser has its own target, seeded with its files.
for t in mp3 flac wav ogg jxl svg; do
  mkdir -p "fuzz/corpus/$t"
  find ../tests/corpus-docs -type f -name "*.$t" -exec cp {} "fuzz/corpus/$t/" \;
  find ../tests/corpus-docs -type f -name "*.$t" -exec cp {} fuzz/corpus/strip/ \;
done
cp ../tests/corpus-docs/*.m4a fuzz/corpus/strip/
mkdir -p fuzz/corpus/office
cp ../tests/corpus-docs/*.docx ../tests/corpus-docs/*.pptx ../tests/corpus-docs/*.ods fuzz/corpus/office/
mkdir -p fuzz/corpus/pdf
cp ../tests/corpus-docs/*.pdf fuzz/corpus/pdf/
python3 - <<'PY'
import json, pathlib
for f in sorted(pathlib.Path("tests/vectors").glob("*.json")):
    v = json.loads(f.read_text())
    c = bytes.fromhex(v["container"])
    pathlib.Path("fuzz/corpus/header", f.stem).write_bytes(c[:400])
    if v.get("files"):
        # The manifest plaintext, as the checker builds it, prefixed by its version.
        import struct
        def fields(m):
            out = b""
            for s in (m["name"], m["type"]):
                b = s.encode(); out += struct.pack(">H", len(b)) + b
            out += struct.pack(">Q", m["size"]) + struct.pack(">H", len(m["report"]))
            for l in m["report"]:
                b = l.encode(); out += struct.pack(">H", len(b)) + b
            return out
        body = struct.pack(">I", len(v["files"])) + b"".join(fields(m) for m in v["files"])
        blocks = 1
        while blocks * 256 < len(body):
            blocks *= 2
        pathlib.Path("fuzz/corpus/manifest", f.stem).write_bytes(bytes([2]) + body + bytes(blocks * 256 - len(body)))
    if v["password"] is None:
        # First byte chooses the feeding piece size.
        pathlib.Path("fuzz/corpus/decrypt", f.stem).write_bytes(bytes([9]) + c[:20000])
PY
for target in header decrypt strip manifest mp3 flac wav ogg jxl svg office pdf; do
  echo "== fuzz $target for ${SECONDS_PER_TARGET}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_PER_TARGET" -max_len=300000 2>&1 \
    | tee "fuzz/$target.log" | grep -E "^#[0-9]+ +(DONE|INITED)|ERROR|panicked" || true
  grep -E "^Done [0-9]+ runs|stat::number_of_executed_units" "fuzz/$target.log" || tail -3 "fuzz/$target.log"
done
