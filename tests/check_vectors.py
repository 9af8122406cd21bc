#!/usr/bin/env python3
"""Independent check of docs/FORMAT.md against wasm-core's test vectors.

Written from FORMAT.md alone, with the `cryptography` and `argon2-cffi`
packages: it derives every key, rebuilds every container from its inputs and
decrypts it again. If this and the Rust code ever disagree, the spec is
ambiguous or one of them is wrong.
"""
import base64
import hashlib
import json
import pathlib
import struct
import unicodedata
import sys

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
import hmac


def extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def expand(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def padme(n: int) -> int:
    if n < 2:
        return n
    e = n.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (n + mask) & ~mask


def ikm_for(secret: bytes, password, kdf) -> bytes:
    if password is None:
        return secret
    link_prk = extract(b"veil/v1 link", secret)
    salt = expand(link_prk, b"veil/v1 argon2id salt", 16)
    # FORMAT.md, "Passwords": the UTF-8 of the NFC form.
    pw = hash_secret_raw(unicodedata.normalize("NFC", password).encode(), salt, time_cost=kdf["t_cost"],
                         memory_cost=kdf["m_cost"], parallelism=kdf["p_cost"],
                         hash_len=32, type=Type.ID, version=19)
    return secret + pw


def fields(meta) -> bytes:
    out = bytearray()
    for s in (meta["name"], meta["type"]):
        b = s.encode()
        out += struct.pack(">H", len(b)) + b
    out += struct.pack(">Q", meta["size"])
    out += struct.pack(">H", len(meta["report"]))
    for line in meta["report"]:
        b = line.encode()
        out += struct.pack(">H", len(b)) + b
    return bytes(out)


def metadata_plain(v) -> tuple[int, bytes]:
    """The version and the metadata plaintext (FORMAT.md §4)."""
    if v.get("files") is None:
        out = fields(v["metadata"])
        padded = max(1, -(-len(out) // 256)) * 256
        return 1, out + bytes(padded - len(out))
    out = struct.pack(">I", len(v["files"])) + b"".join(fields(f) for f in v["files"])
    blocks = 1
    while blocks * 256 < len(out):
        blocks *= 2
    return 2, out + bytes(blocks * 256 - len(out))


def safe_path(p: str) -> bool:
    """FORMAT.md §4 "Shares": a path in safe form."""
    segs = p.split("/")
    return all(s and "\\" not in s and not s.startswith(".")
               and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in s) for s in segs)


def one_file(v, container: bytes, content_key: bytes, prefix: bytes) -> None:
    """Opens only the records of one file of a share (§4 "One file alone")."""
    sel = v["one_file"]
    files = v["files"]
    start = sum(f["size"] for f in files[:sel["index"]])
    end = start + files[sel["index"]]["size"]
    rs = v["record_size"]
    total = sum(f["size"] for f in files)
    padded = padme(total)
    last = max(1, -(-padded // rs)) - 1
    first = min(start // rs, last)
    final = min(max(end - 1, start) // rs, last)
    head = 60 + struct.unpack(">I", container[56:60])[0]
    plain_len = lambda i: min(rs, padded - i * rs)
    frm = head + first * (rs + 16)
    to = head + final * (rs + 16) + plain_len(final) + 16
    assert (frm, to, first * rs) == (sel["from"], sel["to"], sel["content_start"]), "one-file range"
    aes = AESGCM(content_key)
    out = bytearray()
    at = frm
    for i in range(first, final + 1):
        n = plain_len(i) + 16
        nonce = prefix + struct.pack(">I", i) + bytes([1 if i == last else 0])
        out += aes.decrypt(nonce, container[at:at + n], None)
        at += n
    assert at == to
    plain = bytes.fromhex(v["plaintext"])
    got = bytes(out[start - first * rs:end - first * rs])
    assert got == plain[start:end], "one file's bytes"


def build(v) -> bytes:
    secret = bytes.fromhex(v["secret"])
    kdf = v["kdf"]
    ikm = ikm_for(secret, v["password"], kdf)
    fragment = b64(secret)
    if kdf:
        fragment += "." + b64(struct.pack(">III", kdf["m_cost"], kdf["t_cost"], kdf["p_cost"]))
    assert fragment == v["fragment"], "fragment"

    key_prk = extract(b"veil/v1 key", ikm)
    proof = expand(key_prk, b"veil/v1 download proof", 32)
    assert b64(proof) == v["download_proof"], "proof"
    assert b64(hashlib.sha256(proof).digest()) == v["download_proof_sha256"], "proof hash"

    salt = bytes.fromhex(v["salt"])
    version, meta_plain = metadata_plain(v)
    if version == 2:
        assert all(safe_path(f["name"]) for f in v["files"]), "paths in safe form"
    params = struct.pack(">III", kdf["m_cost"], kdf["t_cost"], kdf["p_cost"]) if kdf else bytes(12)
    header = (b"VEIL" + bytes([version, 1 if kdf else 0, 0, 0]) + struct.pack(">I", v["record_size"])
              + params + salt + struct.pack(">I", len(meta_plain) + 16))
    assert len(header) == 60

    file_prk = extract(salt, ikm)
    content_key = expand(file_prk, b"veil/v1 content key" + header, 32)
    metadata_key = expand(file_prk, b"veil/v1 metadata key" + header, 32)
    prefix = expand(file_prk, b"veil/v1 nonce prefix" + header, 7)
    assert content_key.hex() == v["content_key"], "content key"
    assert metadata_key.hex() == v["metadata_key"], "metadata key"
    assert prefix.hex() == v["nonce_prefix"], "nonce prefix"

    out = bytearray(header)
    out += AESGCM(metadata_key).encrypt(bytes(12), meta_plain, header)
    plain = bytes.fromhex(v["plaintext"])
    content = plain + bytes(padme(len(plain)) - len(plain))
    rs = v["record_size"]
    records = max(1, -(-len(content) // rs))
    aes = AESGCM(content_key)
    for i in range(records):
        nonce = prefix + struct.pack(">I", i) + bytes([1 if i == records - 1 else 0])
        out += aes.encrypt(nonce, content[i * rs:(i + 1) * rs], None)
    if version == 2:
        one_file(v, bytes(out), content_key, prefix)
    return bytes(out)


def check_report(v) -> None:
    """FORMAT.md §9: seal the fields with the vector's fixed keys, compare,
    then open the expected bytes and check every rejection."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives import serialization
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    op = X25519PrivateKey.from_private_bytes(bytes.fromhex(v["operator_private"]))
    op_pub = op.public_key().public_bytes(*raw)
    assert b64(op_pub) == v["operator_public"], "operator public key differs"
    eph = X25519PrivateKey.from_private_bytes(bytes.fromhex(v["ephemeral_private"]))
    eph_pub = eph.public_key().public_bytes(*raw)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(op_pub))
    okm = expand(extract(b"veil/v1 report", shared), eph_pub + op_pub, 44)
    plain = bytearray()
    for field in (v["blob_id"], v["fragment"], v["password"] or ""):
        b = field.encode()
        plain += struct.pack(">H", len(b)) + b
    plain += bytes(1024 - len(plain))
    sealed = eph_pub + AESGCM(okm[:32]).encrypt(okm[32:], bytes(plain), b"veil/v1 report")
    assert sealed.hex() == v["sealed"], "sealed bytes differ"
    # Opening with the operator's key gives the fields back; a flipped bit does not open.
    expected = bytes.fromhex(v["sealed"])
    again = op.exchange(X25519PublicKey.from_public_bytes(expected[:32]))
    assert again == shared
    bad = bytearray(expected)
    bad[100] ^= 1
    try:
        AESGCM(okm[:32]).decrypt(okm[32:], bytes(bad[32:]), b"veil/v1 report")
        raise AssertionError("a flipped bit opened")
    except Exception as e:  # InvalidTag
        if isinstance(e, AssertionError):
            raise


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent / "wasm-core" / "tests" / "vectors"
    for f in sorted((root / "report").glob("*.json")):
        try:
            check_report(json.loads(f.read_text()))
            print(f"ok   report/{f.name}")
        except AssertionError as e:
            print(f"FAIL report/{f.name}: {e}")
            return 1
    files = sorted(root.glob("*.json"))
    failed = 0
    for f in files:
        v = json.loads(f.read_text())
        try:
            built = build(v)
            assert built.hex() == v["container"], "container bytes differ"
            print(f"ok   {f.name}")
        except AssertionError as e:
            failed += 1
            print(f"FAIL {f.name}: {e}")
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())
