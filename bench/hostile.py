#!/usr/bin/env python3
"""Attacker's harness for Veil's blob server: hostile bytes, slow clients, races.

Starts the server binary (env ``BLOB_SERVER``, default
``target/release/blob-server``) on 127.0.0.1 with a fresh temporary data dir
and attacks it over raw sockets, so every byte on the wire is chosen here:

1. *hostile*: well over 1,000 malformed or hostile requests across every
   endpoint (bad methods, odd ids, broken framing, bad option headers, tus
   abuse, huge heads, pipelining, cut-off bodies, byte-level garbage), then
   races on one resource (PATCH || PATCH, PATCH || DELETE upload, PATCH ||
   DELETE blob with the upload's token, 20 GETs of a burn-after-reading
   blob). Every request must be answered (a clean close is fine for
   byte-level garbage) within 10 s, else it is a HANG; every 5xx is counted;
   every 4xx/5xx body under /api/ must be JSON {"error": "..."} naming no
   framework. Afterwards /healthz must answer 200 within 1 s.
2. *slow headers*: 500 connections dripping one header byte a second, then
   50 that send only CRLF CRLF; /healthz latency is sampled every 100 ms
   meanwhile and the time the server takes to close each one is recorded.
3. *slow body*: 20 uploads declaring 1,000,000 bytes and sending 1 byte/s.

If the server stops answering after phase 1 (e.g. deadlocked), it is killed
and a fresh one is started so phases 2 and 3 still measure something.
Standard library only; everything is bounded in count and time (about 2-3
minutes worst case); only 127.0.0.1 is contacted. The last line reads
``hostile: N requests, X 5xx, P panics, H hangs, J non-JSON error bodies``;
the exit status is 0 only if X, P, H and J are 0, /healthz stayed alive and
no correctness check failed (burn-after-reading served exactly once, no
deleted upload came back, a plain tus termination answered 204, no file
from outside the static dir leaked).

Usage: BLOB_SERVER=path/to/blob-server python3 bench/hostile.py
(BLOB_SERVER_ARGS="--meta postgres://... --storage s3://..." runs it
against the shared engine.)
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shlex
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HANG_S = 10.0  # a request not answered within this is a HANG
HEALTH_S = 1.0  # /healthz after the hostile phase must answer within this
SLOW_PHASE_S = 30.0  # slow-client phases stop after this at the latest
SERVER_ENV = {"VEIL_HEADER_TIMEOUT": "2", "VEIL_IDLE_TIMEOUT": "3", "VEIL_LOG": "warn"}
FORBIDDEN = ("axum", "hyper", "tower", "invalid url", "failed to")
LEAK_MARKERS = (b"root:x:0:0", b"[workspace]")  # /etc/passwd, the repo's Cargo.toml
TUS = ("Tus-Resumable", "1.0.0")
OCTET = ("Content-Type", "application/offset+octet-stream")
RNG = random.Random(0x5EED)  # deterministic fake ids and garbage


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def enc(x: str | bytes) -> bytes:
    return x if isinstance(x, bytes) else x.encode("utf-8")


# --------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------


class Server:
    """One blob-server process on 127.0.0.1:0 with its own temporary data dir."""

    def __init__(self, binary: Path):
        self.tmp = Path(tempfile.mkdtemp(prefix="veil-hostile-"))
        self.err_path = self.tmp / "stderr.log"
        self.out_path = self.tmp / "stdout.log"
        self.port = 0
        self.logs = ""
        ready = threading.Event()
        env = dict(os.environ, **SERVER_ENV)
        cmd = [str(binary), "--bind", f"{HOST}:0", "--data-dir", str(self.tmp / "data"),
               "--static-dir", "web", *shlex.split(os.environ.get("BLOB_SERVER_ARGS", ""))]
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._err,
                                     start_new_session=True)

        def pump() -> None:  # copies stdout (the log) to a file, finds the port
            with open(self.out_path, "wb") as out:
                for line in self.proc.stdout:
                    out.write(line)
                    out.flush()
                    m = re.search(rb"Veil is serving http://[0-9.]+:(\d+)", line)
                    if m and not self.port:
                        self.port = int(m.group(1))
                        ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(20) or not self.port:
            self.stop()
            raise RuntimeError(f"server did not print its address; stderr:\n{self.logs[-2000:]}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 3 s), keeps its logs, removes the dir."""
        if self._err.closed:
            return  # already stopped
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()
        text = []
        for p in (self.err_path, self.out_path):
            try:
                text.append(p.read_text("utf-8", "replace"))
            except OSError:
                pass
        self.logs = "\n".join(text)
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Raw HTTP/1.1 over sockets
# --------------------------------------------------------------------------


class Timeout(Exception):
    pass


class Closed(Exception):
    pass


class NonHttp(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes


class Reader:
    """Reads HTTP/1.x responses from a socket before a fixed deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline, self.buf = sock, deadline, b""

    def _fill(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Timeout
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout from None
        except OSError:
            raise Closed from None
        if not data:
            raise Closed
        self.buf += data

    def _until(self, sep: bytes, limit: int = 1 << 17) -> bytes:
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise NonHttp
            self._fill()
        line, self.buf = self.buf.split(sep, 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_request: bool) -> Response:
        while True:
            while len(self.buf) < 5:
                self._fill()
            if not self.buf.startswith(b"HTTP/"):
                raise NonHttp  # e.g. an HTTP/2 SETTINGS frame
            lines = self._until(b"\r\n\r\n").split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            try:
                status = int(parts[1])
            except (IndexError, ValueError):
                raise NonHttp from None
            headers: dict[str, list[str]] = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                headers.setdefault(k.strip().lower().decode("latin-1"), []).append(
                    v.strip().decode("latin-1"))
            if 100 <= status < 200:
                continue  # 100 Continue and friends
            if head_request or status in (204, 304):
                body = b""
            elif "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
                body = b""
                while True:
                    size = int(self._until(b"\r\n").split(b";")[0], 16)
                    if size == 0:
                        while self._until(b"\r\n"):
                            pass  # trailer lines, up to the empty one
                        break
                    body += self._exact(size)
                    self._exact(2)
            elif "content-length" in headers:
                body = self._exact(int(headers["content-length"][0]))
            else:
                try:
                    while True:
                        self._fill()
                except Closed:
                    body, self.buf = self.buf, b""
            return Response(status, headers, body)


def req(method: str | bytes, target: str | bytes, headers=(), body: bytes = b"",
        version: str = "HTTP/1.1", host: bool = True) -> bytes:
    """The bytes of one request. Content-Length is added for a non-empty body
    unless the caller set Content-Length or Transfer-Encoding itself."""
    lines = [b" ".join((enc(method), enc(target), enc(version)))]
    if host:
        lines.append(b"Host: 127.0.0.1")
    names = set()
    for name, value in headers:
        names.add(enc(name).lower())
        lines.append(enc(name) + b": " + enc(value))
    if body and not names & {b"content-length", b"transfer-encoding"}:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass
class Case:
    """One connection: bytes to send (with delays) and the requests they carry."""
    label: str                      # category, for the report
    reqs: list                      # [(method, target)] per request, in order
    pieces: list                    # [(delay before, bytes)]
    garbage: bool = False           # byte-level malformed: a close is an acceptable answer
    shut_wr: bool = False           # half-close after sending (cut-off body)
    abandon: bool = False           # close after sending; no answer expected


def case(label, method, target, headers=(), body=b"", version="HTTP/1.1", host=True,
         garbage=False, shut_wr=False, abandon=False) -> Case:
    data = req(method, target, headers, body, version, host)
    return Case(label, [(enc(method).decode("latin-1"), enc(target).decode("latin-1"))],
                [(0.0, data)], garbage, shut_wr, abandon)


def raw(label, data: bytes, reqs=None, **kw) -> Case:
    reqs = reqs or [("bytes", repr(data[:40]) + (f"... ({len(data)} bytes)" if len(data) > 40 else ""))]
    return Case(label, list(reqs), [(0.0, data)], garbage=kw.pop("garbage", True), **kw)


@dataclass
class Result:
    outcome: str                    # answered | closed | hang | non-http | abandoned | refused | skipped
    responses: list = field(default_factory=list)
    elapsed: float = 0.0


def exchange(port: int, c: Case, timeout: float = HANG_S) -> Result:
    """Sends a case's bytes and reads one response per request it carries."""
    t0 = time.monotonic()
    try:
        sock = socket.create_connection((HOST, port), timeout=timeout)
    except OSError:
        return Result("refused", elapsed=time.monotonic() - t0)
    with sock:
        try:
            for delay, data in c.pieces:
                if delay:
                    time.sleep(delay)
                sock.settimeout(timeout)
                sock.sendall(data)
        except socket.timeout:
            return Result("hang", elapsed=time.monotonic() - t0)  # the server stopped reading
        except OSError:
            pass  # closed early (e.g. after a 431): there may still be an answer to read
        if c.abandon:
            sock.close()
            time.sleep(0.3)  # let the server finish with it before the next request on that upload
            return Result("abandoned", elapsed=time.monotonic() - t0)
        if c.shut_wr:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        reader = Reader(sock, time.monotonic() + timeout)
        res = Result("answered")
        try:
            for method, _ in c.reqs:
                res.responses.append(reader.response(method == "HEAD"))
        except Closed:
            res.outcome = "closed"
        except Timeout:
            res.outcome = "hang"
        except NonHttp:
            res.outcome = "non-http"
        except ValueError:  # unparsable chunk size or length in the answer
            res.outcome = "non-http"
        res.elapsed = time.monotonic() - t0
        return res


def call(port: int, method, target, headers=(), body=b"", timeout=HANG_S) -> Response | None:
    """A plain request (fixtures, post-checks); None if it was not answered."""
    res = exchange(port, case("call", method, target, headers, body), timeout)
    return res.responses[0] if res.responses else None


def healthz(port: int, timeout: float = HEALTH_S) -> tuple[bool, float]:
    """(answered 200 in time, milliseconds)."""
    t0 = time.monotonic()
    r = call(port, "GET", "/healthz", [("Connection", "close")], timeout=timeout)
    return (r is not None and r.status == 200), (time.monotonic() - t0) * 1000


# --------------------------------------------------------------------------
# Bookkeeping
# --------------------------------------------------------------------------


def error_body_problem(body: bytes) -> str | None:
    """Why an /api/ error body is not {"error": "..."} naming no framework, or None."""
    text = body.decode("utf-8", "replace")
    for word in FORBIDDEN:
        if word in text.lower():
            return f"mentions {word!r}"
    try:
        doc = json.loads(text)
    except ValueError:
        return "not JSON" if text else "empty body"
    if not (isinstance(doc, dict) and set(doc) == {"error"} and isinstance(doc["error"], str)):
        return "JSON but not {\"error\": \"...\"}"
    return None


class Stats:
    """Thread-safe counters for every request the hostile phase sends."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.outcomes = Counter()       # per request
        self.statuses = Counter()
        self.labels = Counter()
        self.fivexx, self.hangs, self.bad_bodies, self.leaks = [], [], [], []
        self.dropped, self.cookies, self.skipped = [], [], 0

    def record(self, c: Case, res: Result) -> None:
        with self.lock:
            if res.outcome == "skipped":
                self.skipped += len(c.reqs)
                return
            self.requests += len(c.reqs)
            self.labels[c.label] += len(c.reqs)
            answered = len(res.responses)
            self.outcomes["answered"] += answered
            missing = len(c.reqs) - answered
            if missing:
                method, target = c.reqs[answered]  # the first request left unanswered
                what = f"[{c.label}] {method[:20]} {target[:70]}"
                kind = res.outcome
                if kind == "closed" and (c.garbage or c.shut_wr):
                    kind = "clean close"
                elif kind == "non-http" and c.garbage:
                    kind = "non-HTTP answer"
                elif kind == "closed":
                    self.dropped.append(what)
                self.outcomes[kind] += missing
                if kind == "hang":
                    self.hangs.append(what)
            for (method, target), r in zip(c.reqs, res.responses):
                self.statuses[r.status] += 1
                desc = f"[{c.label}] {method[:20]} {target[:70]} -> {r.status}"
                if r.status >= 500:
                    self.fivexx.append(desc)
                if target.startswith("/api/") and r.status >= 400 and method != "HEAD":
                    # hyper's own answers to unparsable requests are empty: tolerated for garbage
                    if not (c.garbage and not r.body):
                        problem = error_body_problem(r.body)
                        if problem:
                            self.bad_bodies.append(f"{desc}: {problem}: {r.body[:80]!r}")
                if any(m in r.body for m in LEAK_MARKERS):
                    self.leaks.append(desc)
                if "set-cookie" in r.headers:
                    self.cookies.append(desc)


class Breaker:
    """After a hang, checks /healthz; once the server is unresponsive, the
    remaining cases are skipped instead of each waiting 10 s."""

    def __init__(self, port: int):
        self.port, self.lock, self.wedged = port, threading.Lock(), threading.Event()
        self.cause = ""

    def after(self, c: Case, res: Result) -> None:
        if res.outcome in ("hang", "refused") and not self.wedged.is_set():
            with self.lock:
                if not self.wedged.is_set() and not healthz(self.port, 2.0)[0]:
                    self.cause = f"[{c.label}] {c.reqs[0][0][:20]} {c.reqs[0][1][:70]}"
                    self.wedged.set()


def run_case(port: int, c: Case, stats: Stats, breaker: Breaker) -> Result:
    if breaker.wedged.is_set():
        res = Result("skipped")
    else:
        res = exchange(port, c)
        breaker.after(c, res)
    stats.record(c, res)
    return res


# --------------------------------------------------------------------------
# Fixtures: real blobs and uploads to aim at
# --------------------------------------------------------------------------


def create_blob(port: int, headers=(), body: bytes = b"ciphertext") -> tuple[str, str]:
    r = call(port, "POST", "/api/v1/blobs", headers, body)
    if r is None or r.status != 201:
        raise RuntimeError(f"cannot create a blob: {r and r.status} {r and r.body[:200]!r}")
    doc = json.loads(r.body)
    return doc["id"], doc["delete_token"]


def create_upload(port: int, length: int) -> tuple[str, str]:
    r = call(port, "POST", "/api/v1/uploads", [TUS, ("Upload-Length", str(length))])
    if r is None or r.status != 201:
        raise RuntimeError(f"cannot create a tus upload: {r and r.status} {r and r.body[:200]!r}")
    uid = (r.headers.get("veil-blob-id") or [r.headers["location"][0].rsplit("/", 1)[-1]])[0]
    return uid, r.headers.get("veil-delete-token", [""])[0]


# --------------------------------------------------------------------------
# Phase 1: hostile requests
# --------------------------------------------------------------------------

NUMBERS = ["", " ", "0", "1", "-1", "-0", "+1", "01", "1.5", "1e3", "0x10", "1_000", " 60",
           "60 ", "6 0", "60,60", "18446744073709551615", "18446744073709551616",
           "9999999999999999999", "99999999999999999999", "4294967296", "1000", "1001",
           "9" * 200, "abc", "NaN", "\u0661\u0662".encode(), b"\xff\xfe", "%31"]


def hostile_cases(blob: str, proof_blob: str, limited_blob: str, up: str, up_small: str,
                  up_del: tuple[str, str], up_tok: tuple[str, str]) -> list[Case]:
    """Every hostile request, as (mostly) independent cases."""
    fake = b64url(RNG.randbytes(16))
    fake_up = b64url(RNG.randbytes(16))
    fake_token = b64url(RNG.randbytes(32))
    cases: list[Case] = []
    add = cases.append

    # -- odd ids on every {id} endpoint --
    ids = [("real-blob", blob, False), ("real-upload", up, False), ("fake", fake, False),
           ("empty", "", False), ("1 char", "a", False), ("21 chars", fake[:21], False),
           ("23 chars", fake + "A", False), ("10k chars", "A" * 10000, False),
           ("padded", fake + "==", False), ("std b64", "+" + fake[1:], False),
           ("non-canonical", fake[:21] + "B", False), ("upper", blob.upper(), False),
           ("%FF%FE", "%FF%FE", False), ("%FF%FE x11", "%FF%FE" * 11, False),
           ("overlong /", "%C0%AF", False), ("surrogate", "%ED%A0%80", False),
           ("%00", "%00", False), ("real+%00", blob + "%00", False), ("..", "..", False),
           ("%2e%2e", "%2e%2e", False), ("traversal", "..%2F..%2F..%2Fetc%2Fpasswd", False),
           ("raw traversal", "../../../../etc/passwd", False),
           ("backslash", "%5C..%5C..%5Cetc%5Cpasswd", False), ("raw backslash", "a\\b", True),
           ("unicode", "%C3%A9" * 11, False), ("emoji", "%F0%9F%92%A9", False),
           ("raw unicode", "\u00e9\u00e9", True), ("raw NUL", "a\x00b", True),
           ("raw space", "a b", True), ("query", fake + "?x=1&id=" + blob, False),
           ("fragment", fake + "#x", True), ("semicolon", fake + ";x", False),
           ("%2F", fake + "%2Fx", False), ("extra segment", fake + "/x", False),
           ("%zz", "%zz", False), ("lone %", "%", False), ("%%", "%%", False),
           ("-1", "-1", False), ("70k chars", "A" * 70000, True)]
    id_templates = [
        ("GET", "/api/v1/blobs/{}", []),
        ("HEAD", "/api/v1/blobs/{}", []),
        ("DELETE", "/api/v1/blobs/{}", [("Authorization", "Bearer " + fake_token)]),
        ("HEAD", "/api/v1/uploads/{}", [TUS]),
        ("PATCH", "/api/v1/uploads/{}", [TUS, OCTET, ("Upload-Offset", "0")]),
        ("DELETE", "/api/v1/uploads/{}", [TUS]),
        ("GET", "/d/{}", []),
        ("GET", "/x/{}", []),
    ]
    for method, tpl, headers in id_templates:
        for label, ident, garbage in ids:
            if method == "DELETE" and "uploads" in tpl and ident == up:
                continue  # keep the shared upload alive; up_del is terminated below
            body = b"hello" if method == "PATCH" else b""
            add(case(f"id {label}", method, tpl.format(ident), headers, body, garbage=garbage))

    # -- methods on every path --
    paths = ["/api/v1/blobs", f"/api/v1/blobs/{blob}", "/api/v1/uploads", f"/api/v1/uploads/{fake_up}",
             "/api/v1/config", "/healthz", f"/d/{fake}", f"/x/{fake}", "/", "/index.html",
             "/api/nope", "/api/v2/blobs", "/api/", "/api/v1/blobs/"]
    methods = [("TRACE", False), ("CONNECT", True), ("PROPFIND", False), ("get", False),
               ("Get", False), ("PUT", False), ("POST", False), ("PATCH", False),
               ("DELETE", False), ("OPTIONS", False), ("HEAD", False), ("GET", False),
               ("FOO", False), ("M-SEARCH", False), ("A" * 8192, True), ("GE\x01T", True)]
    for path in paths:
        for method, garbage in methods:
            add(case("method", method, path, garbage=garbage))

    # -- option headers with bad numbers --
    for v in NUMBERS:
        add(case("Veil-Expires-In", "POST", "/api/v1/blobs", [("Veil-Expires-In", v)], b"hello"))
        add(case("Veil-Max-Downloads", "POST", "/api/v1/blobs", [("Veil-Max-Downloads", v)], b"hello"))
        add(case("Upload-Length", "POST", "/api/v1/uploads", [TUS, ("Upload-Length", v)]))
        add(case("Upload-Offset", "PATCH", f"/api/v1/uploads/{up}",
                 [TUS, OCTET, ("Upload-Offset", v)], b"hello"))
        vb = enc(v)
        for key in ("expires_in", "max_downloads"):
            add(case("metadata number", "POST", "/api/v1/uploads",
                     [TUS, ("Upload-Length", "10"),
                      ("Upload-Metadata", f"{key} {base64.b64encode(vb).decode()}")]))
    proofs = ["", "x", "A" * 43, "A" * 44, "A" * 42, "+/" + "A" * 41, "A" * 42 + "=", "A" * 10240,
              "\u00e9" * 43, b"\xff" * 43, "%41" * 43]
    for v in proofs:
        add(case("Veil-Proof-Hash", "POST", "/api/v1/blobs", [("Veil-Proof-Hash", v)], b"hello"))
        add(case("Veil-Proof", "GET", f"/api/v1/blobs/{proof_blob}", [("Veil-Proof", v)]))
        add(case("Veil-Proof", "GET", f"/api/v1/blobs/{limited_blob}", [("Veil-Proof", v)]))
    dups = [("Veil-Expires-In", "60", "60"), ("Veil-Expires-In", "60", "-1"),
            ("Veil-Max-Downloads", "1", "2"), ("Veil-Max-Downloads", "0", "0"),
            ("Veil-Proof-Hash", "A" * 43, "B" * 43)]
    for name, a, b in dups:
        add(case("duplicate option", "POST", "/api/v1/blobs", [(name, a), (name, b)], b"hello"))
    add(case("duplicate option", "POST", "/api/v1/uploads",
             [TUS, ("Upload-Length", "10"), ("Upload-Length", "20")]))
    add(case("duplicate option", "PATCH", f"/api/v1/uploads/{up}",
             [TUS, OCTET, ("Upload-Offset", "0"), ("Upload-Offset", "5")], b"hello"))

    # -- non-ASCII, control and very long header values --
    header_targets = [("POST", "/api/v1/blobs", [], b"hello"), ("GET", f"/api/v1/blobs/{blob}", [], b""),
                      ("GET", "/api/v1/config", [], b""),
                      ("POST", "/api/v1/uploads", [TUS, ("Upload-Length", "10")], b""),
                      ("PATCH", f"/api/v1/uploads/{up}", [TUS, OCTET, ("Upload-Offset", "0")], b"x"),
                      ("GET", "/", [], b""), ("GET", f"/d/{fake}", [], b""), ("GET", "/healthz", [], b"")]
    odd_headers = [([("X-Junk", b"\xff\xfe\x80")], False), ([("User-Agent", "\u00e9\u4e2d")], False),
                   ([("Veil-Expires-In", b"\xff")], False), ([("X-Long", "a" * 30000)], False),
                   ([("X-Long", "a" * 8000), ("X-Long2", "b" * 8000)], False),
                   ([("X-Ctl", b"a\x01b")], True), ([("X-Fold", "a\r\n b")], True),
                   ([("X Junk", "a")], True), ([("", "a")], True), ([("X-NoColon\r\nX-B", "c")], True)]
    for method, target, base, body in header_targets:
        for extra, garbage in odd_headers:
            add(case("odd header", method, target, base + extra, body, garbage=garbage))

    # -- malformed Upload-Metadata --
    b = lambda s: base64.b64encode(enc(s)).decode()  # noqa: E731
    metas = ["expires_in !!!", "expires_in", "expires_in ", ",", ",,,", " , ", "max_downloads",
             "proof_hash", "proof_hash eHh4", f"expires_in {b('0')}", f"expires_in {b('-1')}",
             f"max_downloads {b('0')}", f"max_downloads {b('1001')}", "expires_in /w==",
             "expires_in MQ", "expires_in -_-_", f"expires_in  {b('1')}", f"expires_in {b('1')} x",
             "filename " + base64.b64encode(b"n" * 20000).decode(), "a a," * 7000,
             f"\u00e9 {b('1')}".encode(), f"expires_in {b('1')},expires_in {b('2')}", "\t",
             f"proof_hash {b('A' * 43)}", f"proof_hash {b(chr(0) * 43)}"]
    for m in metas:
        add(case("Upload-Metadata", "POST", "/api/v1/uploads",
                 [TUS, ("Upload-Length", "10"), ("Upload-Metadata", m)]))
        add(case("Upload-Metadata", "POST", "/api/v1/uploads",
                 [TUS, ("Upload-Length", "5"), OCTET, ("Upload-Metadata", m)], b"abcde"))
    add(case("Upload-Metadata", "POST", "/api/v1/uploads",
             [TUS, ("Upload-Length", "10"), ("Upload-Metadata", b"key\x00 MQ==")], garbage=True))

    # -- wrong Tus-Resumable --
    versions = [None, "", "1.0.0 ", "0.2.2", "1.0", "1.0.0,1.0.0", "dup", b"\xff", "1.0.0\x00"]
    tus_targets = [("POST", "/api/v1/uploads", [("Upload-Length", "10")], b""),
                   ("HEAD", f"/api/v1/uploads/{up}", [], b""),
                   ("PATCH", f"/api/v1/uploads/{up}", [OCTET, ("Upload-Offset", "0")], b"x"),
                   ("DELETE", f"/api/v1/uploads/{fake_up}", [], b""),
                   ("OPTIONS", "/api/v1/uploads", [], b"")]
    for method, target, base, body in tus_targets:
        for v in versions:
            if v is None:
                tus = []
            elif v == "dup":
                tus = [TUS, ("Tus-Resumable", "0.2.2")]
            else:
                tus = [("Tus-Resumable", v)]
            add(case("Tus-Resumable", method, target, tus + base, body,
                     garbage=isinstance(v, str) and "\x00" in v))

    # -- wrong Content-Type on PATCH --
    types = [None, "application/octet-stream", "application/offset+octet-stream; charset=utf-8",
             "APPLICATION/OFFSET+OCTET-STREAM", "", b"\xff", "application/offset+octet-stream, text/plain",
             "dup", "text/plain", "multipart/form-data; boundary=x"]
    for target in (f"/api/v1/uploads/{up}", f"/api/v1/uploads/{fake_up}"):
        for t in types:
            ct = ([] if t is None else [OCTET, ("Content-Type", "text/plain")] if t == "dup"
                  else [("Content-Type", t)])
            add(case("PATCH Content-Type", "PATCH", target, [TUS, ("Upload-Offset", "0")] + ct, b"x"))

    # -- PATCH past Upload-Length (up_small has length 10) --
    small = f"/api/v1/uploads/{up_small}"
    add(case("past length", "PATCH", small, [TUS, OCTET, ("Upload-Offset", "0")], b"z" * 20))
    add(case("past length", "PATCH", small, [TUS, OCTET, ("Upload-Offset", "0"),
                                            ("Content-Length", "100000000")], b"z" * 20, shut_wr=True))
    add(case("past length", "PATCH", small, [TUS, OCTET, ("Upload-Offset", "11")], b"z"))
    add(case("past length", "PATCH", small, [TUS, OCTET, ("Upload-Offset", "10")], b"z"))
    add(case("past length", "PATCH", small, [TUS, OCTET, ("Upload-Offset", "0")], b"z" * 11))
    add(case("past length", "POST", "/api/v1/uploads", [TUS, OCTET, ("Upload-Length", "5")], b"z" * 10))
    add(case("past length", "POST", "/api/v1/uploads", [TUS, OCTET, ("Upload-Length", "0")], b"z"))
    add(case("past length", "POST", "/api/v1/uploads", [TUS, ("Upload-Length", str(1 << 40))]))

    # -- Authorization variants --
    auths = ["bearer x", "Bearer", "Bearer ", "Bearer  ", "Basic dXNlcjpwYXNz", "Bearer " + "A" * 10240,
             "Bearer " + fake_token, "Bearer " + fake_token + "=", "Bearer " + fake_token[:42],
             "Bearer\t" + fake_token, "BEARER " + fake_token, "Token " + fake_token,
             "Bearer " + fake_token + " extra", b"Bearer \xff\xfe", "Bearer %00", "dup", None]
    for ident in (blob, up, fake):
        for a in auths:
            h = ([] if a is None else [("Authorization", "Bearer " + fake_token),
                                       ("Authorization", "Bearer " + b64url(RNG.randbytes(32)))]
                 if a == "dup" else [("Authorization", a)])
            add(case("Authorization", "DELETE", f"/api/v1/blobs/{ident}", h))

    # -- framing: Content-Length / Transfer-Encoding abuse (hyper may just close) --
    chunked = [("Transfer-Encoding", "chunked")]
    framings = [
        ([("Content-Length", "5"), ("Content-Length", "5")], b"hello", False),
        ([("Content-Length", "5"), ("Content-Length", "6")], b"hello!", False),
        ([("Content-Length", "5, 5")], b"hello", False),
        ([("Content-Length", "5,6")], b"hello!", False),
        ([("Content-Length", "5")] + chunked, b"5\r\nhello\r\n0\r\n\r\n", False),
        (chunked + [("Content-Length", "5")], b"5\r\nhello\r\n0\r\n\r\n", False),
        ([("Transfer-Encoding", "chunked, chunked")], b"5\r\nhello\r\n0\r\n\r\n", False),
        ([("Transfer-Encoding", "gzip")], b"hello", True),
        ([("Transfer-Encoding", "gzip, chunked")], b"5\r\nhello\r\n0\r\n\r\n", False),
        ([("Transfer-Encoding", "Chunked")], b"5\r\nhello\r\n0\r\n\r\n", False),
        ([("Transfer-Encoding", " chunked ")], b"5\r\nhello\r\n0\r\n\r\n", False),
        ([("Transfer-Encoding", "xchunked")], b"5\r\nhello\r\n0\r\n\r\n", True),
        (chunked + chunked, b"5\r\nhello\r\n0\r\n\r\n", False),
        (chunked, b"zz\r\nhello\r\n0\r\n\r\n", False),
        (chunked, b"-1\r\nhello\r\n0\r\n\r\n", False),
        (chunked, b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", False),
        (chunked, b"5\r\nhello0\r\n\r\n", False),
        (chunked, b"5;a=b\r\nhello\r\n0\r\n\r\n", False),
        (chunked, b"5;" + b"a" * 70000 + b"\r\nhello\r\n0\r\n\r\n", False),
        (chunked, b"5\r\nhellohello\r\n0\r\n\r\n", False),
        (chunked, b"5\r\nhello\r\n", True),
        (chunked, b"5\r\nhello\r\n0\r\nX-Trailer: \xff\r\n\r\n", False),
        (chunked, b"0x5\r\nhello\r\n0\r\n\r\n", False),
        (chunked, b"5\nhello\n0\n\n", False),
        (chunked, b"\r\n\r\n", False),
        ([("Content-Length", "-1")], b"", False),
        ([("Content-Length", "+5")], b"hello", False),
        ([("Content-Length", " 5")], b"hello", False),
        ([("Content-Length", "0x5")], b"hello", False),
        ([("Content-Length", "1e3")], b"hello", False),
        ([("Content-Length", "99999999999999999999")], b"hello", True),
        ([("Content-Length", "18446744073709551615")], b"hello", True),
        ([("Content-Length", "abc")], b"hello", False),
        ([("Content-Length", "")], b"hello", False),
        ([("Content-Length", "5\x00")], b"hello", False),
        ([("Content-Length", "1000")], b"0123456789", True),   # cut off halfway
        ([("Content-Length", "5"), ("Expect", "100-continue")], b"hello", False),
        ([("Content-Length", "5"), ("Expect", "200-ok")], b"hello", False),
    ]
    frame_targets = [("POST", "/api/v1/blobs", []),
                     ("PATCH", f"/api/v1/uploads/{fake_up}", [TUS, OCTET, ("Upload-Offset", "0")]),
                     ("POST", "/api/v1/uploads", [TUS, OCTET, ("Upload-Length", "10")]),
                     ("GET", "/healthz", []), ("GET", "/api/v1/config", [])]
    for method, target, base in frame_targets:
        for headers, body, half_close in framings:
            add(case("framing", method, target, base + headers, body, garbage=True, shut_wr=half_close))

    # -- HTTP versions and request-target forms --
    for method, target, body in (("GET", "/healthz", b""), ("GET", "/api/v1/config", b""),
                                 ("POST", "/api/v1/blobs", b"hello")):
        for version, host, garbage in (("HTTP/1.0", True, False), ("HTTP/1.0", False, False),
                                       ("HTTP/1.1", False, True), ("HTTP/0.9", True, True),
                                       ("HTTP/2.0", True, True), ("HTTP/1.2", True, True),
                                       ("HTTP/9.9", True, True), ("http/1.1", True, True),
                                       ("HTTP/1.1 x", True, True), ("HTTP/1.10", True, True)):
            add(case("version", method, target, [], body, version=version, host=host, garbage=garbage))
        add(case("version", method, target, [("Connection", "keep-alive")], body, version="HTTP/1.0"))
        add(case("target form", method, f"http://127.0.0.1{target}", [], body, garbage=True))
        add(case("target form", method, "*", [], body, garbage=True))
        add(case("target form", method, target.lstrip("/"), [], body, garbage=True))
        add(raw("version", enc(f"{method} {target}\r\n"), [(method, target)], shut_wr=True))
    add(case("target form", "OPTIONS", "*", garbage=True))

    # -- traversal out of the static dir --
    for target in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd",
                   "/..%5c..%5cCargo.toml", "/../Cargo.toml", "/%2e%2e%2fCargo.toml", "/%2e%2e/Cargo.toml",
                   "/js/../../Cargo.toml", "/..%252fCargo.toml", "/.%2e/Cargo.toml", "//etc/passwd",
                   "/d/../../Cargo.toml", "/x/%2e%2e%2f%2e%2e%2fCargo.toml", "/%00../Cargo.toml",
                   "/index.html%00.js", "/\\..\\Cargo.toml"):
        add(case("traversal", "GET", target, garbage="\\" in target))

    # -- huge heads: 200 headers, a 100 KB header --
    for method, target, base, body in header_targets[:5]:
        add(case("200 headers", method, target, base + [(f"X-H{i}", "v") for i in range(200)], body,
                 garbage=True))
        add(case("100 KB header", method, target, base + [("X-Big", "a" * 100_000)], body, garbage=True))
        add(case("99 headers", method, target, base + [(f"X-H{i}", "v") for i in range(90)], body))
        add(case("100 KB cookie", method, target, base + [("Cookie", "a=" + "b" * 100_000)], body,
                 garbage=True))

    # -- pipelining --
    def pipeline(label, reqs_bytes, garbage=False):
        return Case(label, [r for r, _ in reqs_bytes], [(0.0, b"".join(d for _, d in reqs_bytes))],
                    garbage=garbage)
    hz = (("GET", "/healthz"), req("GET", "/healthz"))
    add(pipeline("pipeline", [hz] * 10))
    add(pipeline("pipeline", [(("GET", "/api/v1/config"), req("GET", "/api/v1/config"))] * 50))
    add(pipeline("pipeline", [
        (("GET", "/api/v1/config"), req("GET", "/api/v1/config")),
        (("HEAD", f"/api/v1/blobs/{blob}"), req("HEAD", f"/api/v1/blobs/{blob}")),
        (("GET", f"/api/v1/blobs/{blob}"), req("GET", f"/api/v1/blobs/{blob}")),
        (("GET", "/"), req("GET", "/")),
        (("GET", "/api/nope"), req("GET", "/api/nope")),
        (("GET", "/api/v1/blobs/%FF%FE"), req("GET", "/api/v1/blobs/%FF%FE")),
        (("TRACE", "/api/v1/config"), req("TRACE", "/api/v1/config"))]))
    add(pipeline("pipeline", [
        (("POST", "/api/v1/blobs"), req("POST", "/api/v1/blobs", [], b"hello")), hz,
        (("DELETE", f"/api/v1/blobs/{blob}"), req("DELETE", f"/api/v1/blobs/{blob}",
                                                  [("Authorization", "bearer x")]))]))
    add(pipeline("pipeline", [(("PATCH", f"/api/v1/uploads/{up}"),
                               req("PATCH", f"/api/v1/uploads/{up}", [TUS, OCTET, ("Upload-Offset", "0")],
                                   b"abc"))] * 3))
    add(pipeline("pipeline", [(("HEAD", f"/api/v1/uploads/{fake_up}"),
                               req("HEAD", f"/api/v1/uploads/{fake_up}", [TUS]))] * 5))
    add(pipeline("pipeline", [hz, (("?", "/healthz"), b"GARBAGE \x00\xff\r\n\r\n"), hz], garbage=True))
    add(pipeline("pipeline", [(("GET", "/healthz"), req("GET", "/healthz", version="HTTP/1.0"))] * 3,
                 garbage=True))
    add(pipeline("pipeline", [(("POST", "/api/v1/blobs"),
                               req("POST", "/api/v1/blobs", [("Transfer-Encoding", "chunked")],
                                   b"3\r\nabc\r\n0\r\n\r\n"))] * 5))

    # -- bodies cut off: half-close (expect an answer or a close) and full close --
    cut = [("POST", "/api/v1/blobs", []), ("PATCH", f"/api/v1/uploads/{up}", [TUS, OCTET, ("Upload-Offset", "0")]),
           ("POST", "/api/v1/uploads", [TUS, OCTET, ("Upload-Length", "1000")]), ("GET", "/healthz", [])]
    for method, target, base in cut:
        add(case("cut-off body", method, target, base + [("Content-Length", "1000")], b"0123456789",
                 shut_wr=True, garbage=True))
        add(case("cut-off body", method, target, base + [("Content-Length", "1000")], b"0123456789",
                 abandon=True))
        add(case("cut-off chunked", method, target, base + chunked, b"a\r\n0123456789\r\n10\r\n01",
                 shut_wr=True, garbage=True))
        add(case("cut-off chunked", method, target, base + chunked, b"a\r\n0123456789\r\n10\r\n01",
                 abandon=True))

    # -- byte-level garbage --
    for n in (1, 16, 512, 4096, 65536):
        add(raw("garbage", RNG.randbytes(n)))
    for data in (b"\r\n\r\n", b"GET", b"GET / HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n",
                 b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + RNG.randbytes(32),
                 b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"\x00" * 100, b"\r\n" * 1000,
                 b"\xff" * 100, b"A" * 100_000, b"GET / HTTP/1.1\n\n", b"GET / HTTP/1.1\r\nHost: x\r\n\n",
                 b"\x80GET / HTTP/1.1\r\n\r\n", b"GET /\x7f HTTP/1.1\r\n\r\n",
                 b"\r\n" * 10 + b"GET /healthz HTTP/1.1\r\n\r\n"):
        add(raw("garbage", data))

    # -- finally, a legitimate termination of one upload (must be 204) --
    add(case("terminate", "DELETE", f"/api/v1/uploads/{up_del[0]}",
             [TUS, ("Authorization", f"Bearer {up_del[1]}")]))
    add(case("terminate", "DELETE", f"/api/v1/blobs/{up_tok[0]}", [("Authorization", f"Bearer {up_tok[1]}")]))
    return cases


def slow_patch(uid: str, total: int = 1000, pieces: int = 10, interval: float = 0.25) -> Case:
    """A PATCH whose body trickles in (pieces x interval seconds)."""
    head = req("PATCH", f"/api/v1/uploads/{uid}",
               [TUS, OCTET, ("Upload-Offset", "0"), ("Content-Length", str(total))])
    step = total // pieces
    return Case("race", [("PATCH", f"/api/v1/uploads/{uid}")],
                [(0.0, head)] + [(interval, b"s" * step)] * pieces)


def run_together(port: int, timed: list[tuple[float, Case]], stats: Stats, breaker: Breaker,
                 barrier: threading.Barrier | None = None) -> list[Result]:
    """Runs cases in parallel threads, each after its delay; bounded by a join timeout."""
    results: list[Result] = [Result("hang")] * len(timed)

    def one(i: int, delay: float, c: Case) -> None:
        if barrier is not None:
            try:
                barrier.wait(5)
            except threading.BrokenBarrierError:
                pass
        time.sleep(delay)
        results[i] = exchange(port, c)

    threads = [threading.Thread(target=one, args=(i, d, c), daemon=True) for i, (d, c) in enumerate(timed)]
    for t in threads:
        t.start()
    limit = time.monotonic() + max(d + sum(p for p, _ in c.pieces) for d, c in timed) + HANG_S + 5
    for t in threads:
        t.join(max(0.0, limit - time.monotonic()))
    for (_, c), r in zip(timed, results):
        stats.record(c, r)
        breaker.after(c, r)
    return results


def status_of(r: Result) -> str:
    return str(r.responses[0].status) if r.responses else r.outcome.upper()


def race_checks(port: int, stats: Stats, breaker: Breaker) -> tuple[list[str], list[str]]:
    """The concurrency scenarios on one resource. Returns (report lines, failed checks)."""
    lines, failed = [], []

    def post(label: str, method: str, target: str, headers=()) -> Response | None:
        c = case(label, method, target, list(headers))
        res = exchange(port, c)
        stats.record(c, res)
        breaker.after(c, res)
        return res.responses[0] if res.responses else None

    def wedged(after: str) -> bool:
        ok, ms = healthz(port, 2.0)
        if not ok:
            breaker.cause = breaker.cause or after
            breaker.wedged.set()
            lines.append(f"  !! /healthz unanswered after {after}: the whole server is stuck (deadlock)")
        return not ok

    if breaker.wedged.is_set():
        lines.append(f"  all races skipped: the server was already unresponsive (since {breaker.cause})")
        return lines, failed
    # 1. 20 concurrent GETs of a burn-after-reading blob: exactly one 200.
    try:
        bid, _ = create_blob(port, [("Veil-Max-Downloads", "1")], b"burn me")
    except RuntimeError as e:
        lines.append(f"  all races skipped ({e})")
        return lines, failed
    gets = [(0.0, case("race", "GET", f"/api/v1/blobs/{bid}")) for _ in range(20)]
    res = run_together(port, gets, stats, breaker, threading.Barrier(20))
    got = Counter(status_of(r) for r in res)
    ok = got.get("200", 0) == 1
    lines.append(f"  20 GETs of a Veil-Max-Downloads: 1 blob: {dict(got)}  "
                 f"{'ok' if ok else 'FAIL (exactly one 200 expected)'}")
    if not ok:
        failed.append("burn-after-reading served other than once")
    if wedged("the burn race"):
        return lines, failed

    scenarios = [
        ("slow PATCH || DELETE /api/v1/blobs/{id} with the upload's token",
         lambda uid, tok: case("race", "DELETE", f"/api/v1/blobs/{uid}", [("Authorization", f"Bearer {tok}")])),
        ("slow PATCH || second PATCH at offset 0",
         lambda uid, tok: case("race", "PATCH", f"/api/v1/uploads/{uid}",
                               [TUS, OCTET, ("Upload-Offset", "0")], b"y" * 10)),
        ("slow PATCH || DELETE /api/v1/uploads/{id}",
         lambda uid, tok: case("race", "DELETE", f"/api/v1/uploads/{uid}",
                               [TUS, ("Authorization", f"Bearer {tok}")])),
    ]
    for name, second in scenarios:
        if breaker.wedged.is_set():
            lines.append(f"  {name}: skipped (server unresponsive)")
            continue
        try:
            uid, tok = create_upload(port, 1000)
        except RuntimeError as e:
            lines.append(f"  {name}: skipped ({e})")
            continue
        a, b = run_together(port, [(0.0, slow_patch(uid)), (0.6, second(uid, tok))], stats, breaker)
        verdict = []
        for r in (a, b):
            if r.outcome == "hang":
                verdict.append("HANG")
            elif r.responses and r.responses[0].status >= 500:
                verdict.append("5xx")
        deleted = b.responses and b.responses[0].status == 204 and "DELETE" in name
        if not wedged(name):
            hu = post("race check", "HEAD", f"/api/v1/uploads/{uid}", [TUS])
            hb = post("race check", "HEAD", f"/api/v1/blobs/{uid}")
            after = f"; afterwards HEAD upload {hu and hu.status}, HEAD blob {hb and hb.status}"
            if deleted and ((hu and hu.status == 200) or (hb and hb.status == 200)):
                verdict.append("deleted upload came back")
                failed.append(f"{name}: deleted upload came back")
        else:
            after = ""
        lines.append(f"  {name}: PATCH {status_of(a)}, other {status_of(b)}{after}  "
                     f"{', '.join(verdict) if verdict else 'ok'}")
    return lines, failed


def phase_hostile(port: int) -> dict:
    """Phase 1: >1,000 hostile requests, then races; /healthz must survive."""
    t0 = time.monotonic()
    blob, _ = create_blob(port)
    proof_blob, _ = create_blob(port, [("Veil-Proof-Hash", b64url(hashlib.sha256(b"p" * 32).digest()))])
    limited_blob, _ = create_blob(port, [("Veil-Max-Downloads", "3")])
    up, _ = create_upload(port, 1_000_000)
    up_small, _ = create_upload(port, 10)
    up_del = create_upload(port, 100)
    up_tok = create_upload(port, 100)
    cases = hostile_cases(blob, proof_blob, limited_blob, up, up_small, up_del, up_tok)
    assert sum(len(c.reqs) for c in cases) >= 1000, "fewer than 1,000 hostile requests"

    # Cases that touch an upload id (real or not) or a real upload run one at
    # a time: tus allows one PATCH per upload at a time, and the races are
    # tested deliberately below, one scenario at a time. The rest run in parallel.
    uploads = tuple(enc(u) for u in (up, up_small, up_del[0], up_tok[0])) + (b"/api/v1/uploads/",)
    touches = [any(u in p for _, p in c.pieces for u in uploads) for c in cases]
    serial = [c for c, t in zip(cases, touches) if t]
    parallel = [c for c, t in zip(cases, touches) if not t]
    stats, breaker = Stats(), Breaker(port)
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        seq = pool.submit(lambda: [run_case(port, c, stats, breaker) for c in serial])
        futures = [pool.submit(run_case, port, c, stats, breaker) for c in parallel]
        concurrent.futures.wait(futures + [seq])
        term_status = [status_of(r) for c, r in zip(serial, seq.result()) if c.label == "terminate"]
    batch_s = time.monotonic() - t0

    race_lines, failed = race_checks(port, stats, breaker)
    if term_status != ["204", "204"]:
        failed.append(f"terminating an upload (tus DELETE, token DELETE) answered {term_status}, not 204")
    if stats.leaks:
        failed.append(f"{len(stats.leaks)} responses leaked a file from outside the static dir")
    ok, ms = healthz(port, HEALTH_S)
    return {"stats": stats, "race": race_lines, "failed": failed, "healthz": (ok, ms), "cause": breaker.cause,
            "batch_s": batch_s, "total_s": time.monotonic() - t0, "cases": len(cases)}


# --------------------------------------------------------------------------
# Phases 2 and 3: slow clients
# --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


def slow_clients(port: int, count: int, first: bytes, drip: bytes | None, limit_s: float = SLOW_PHASE_S) -> dict:
    """Opens `count` connections that send `first`, then one byte of `drip`
    per second each; samples /healthz every 100 ms meanwhile. Stops when the
    server has closed them all, or after `limit_s`."""
    sel = selectors.DefaultSelector()
    opened: dict[int, float] = {}
    closed: dict[int, float] = {}
    answered: Counter = Counter()
    socks: dict[int, socket.socket] = {}
    connect_failed = 0
    for i in range(count):
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(first)
        except OSError:
            connect_failed += 1
            continue
        s.setblocking(False)
        socks[i], opened[i] = s, time.monotonic()
        sel.register(s, selectors.EVENT_READ, i)

    latencies: list[float] = []
    probe_failures = [0]
    stop = threading.Event()

    def probe() -> None:
        nxt = time.monotonic()
        while not stop.is_set():
            ok, ms = healthz(port, 2.0)
            if ok:
                latencies.append(ms)
            else:
                probe_failures[0] += 1
            nxt += 0.1
            stop.wait(max(0.0, nxt - time.monotonic()))

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()

    def close(i: int) -> None:
        closed[i] = time.monotonic() - opened[i]
        sel.unregister(socks[i])
        socks.pop(i).close()

    t0 = time.monotonic()
    next_drip, pos = t0 + 1.0, 0
    while socks and time.monotonic() - t0 < limit_s:
        for key, _ in sel.select(timeout=max(0.01, min(next_drip, t0 + limit_s) - time.monotonic())):
            i = key.data
            try:
                data = socks[i].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                if i not in answered:
                    answered[i] = int(data[9:12]) if data.startswith(b"HTTP/1.") and data[9:12].isdigit() else -1
                continue  # keep reading until the server closes
            close(i)
        if time.monotonic() >= next_drip:
            next_drip += 1.0
            if drip is not None:
                byte = drip[pos % len(drip):pos % len(drip) + 1]
                pos += 1
                for i in list(socks):
                    try:
                        socks[i].send(byte)
                    except BlockingIOError:
                        pass
                    except OSError:
                        close(i)
    duration = time.monotonic() - t0
    stop.set()
    prober.join(3)
    for s in socks.values():
        s.close()
    sel.close()
    times = sorted(closed.values())
    return {"count": count, "open_failed": connect_failed, "closed": len(closed),
            "still_open": count - connect_failed - len(closed),
            "close_min": times[0] if times else None, "close_med": statistics.median(times) if times else None,
            "close_max": times[-1] if times else None,
            "answered": Counter(answered.values()), "duration": duration,
            "lat_n": len(latencies), "lat_p50": percentile(latencies, 0.5), "lat_p99": percentile(latencies, 0.99),
            "lat_max": max(latencies) if latencies else float("nan"), "probe_failures": probe_failures[0]}


def phase_slow_headers(port: int) -> list[tuple[str, dict]]:
    """Phase 2: 500 heads that never end (a byte a second), then 50 bare CRLF CRLF."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    return [("500 x one header byte/s", slow_clients(port, 500, head, b"X-Slow: " + b"a" * 64)),
            ("50 x CRLF CRLF only", slow_clients(port, 50, b"\r\n\r\n", None))]


def phase_slow_body(port: int) -> list[tuple[str, dict]]:
    """Phase 3: 20 POST /api/v1/blobs declaring 1,000,000 bytes, sending 1 byte/s."""
    head = req("POST", "/api/v1/blobs", [("Content-Length", "1000000")])
    return [("20 x POST body 1 byte/s", slow_clients(port, 20, head, b"x"))]


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt_s(v) -> str:
    return "-" if v is None else f"{v:.1f} s"


def print_slow(title: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n== {title} ==")
    print(f"  {'clients':<26}{'closed by server':>17}{'min/median/max to close':>26}{'answered':>10}"
          f"{'healthz n':>10}{'p50':>8}{'p99':>8}{'max':>8}{'failed':>7}")
    for name, r in rows:
        opened = r["count"] - r["open_failed"]
        closes = f"{fmt_s(r['close_min'])}/{fmt_s(r['close_med'])}/{fmt_s(r['close_max'])}"
        answered = ",".join(f"{k}x{v}" for k, v in sorted(r["answered"].items())) or "-"
        print(f"  {name:<26}{r['closed']:>8} / {opened:<6}{closes:>26}{answered:>10}"
              f"{r['lat_n']:>10}{r['lat_p50']:>6.1f}ms{r['lat_p99']:>6.1f}ms{r['lat_max']:>6.1f}ms"
              f"{r['probe_failures']:>7}")
        note = f"stopped after {r['duration']:.1f} s"
        if r["still_open"]:
            note += f"; {r['still_open']} still open (closed by the harness)"
        if r["open_failed"]:
            note += f"; {r['open_failed']} could not connect"
        print(f"  {'':<26}{note}")


def print_examples(title: str, items: list[str], limit: int = 12) -> None:
    if items:
        print(f"  {title} ({len(items)}; first {min(limit, len(items))}):")
        for it in items[:limit]:
            print(f"    {it}")


def main() -> int:
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still run the cleanup
    env_bin = os.environ.get("BLOB_SERVER")
    binary = Path(env_bin).resolve() if env_bin else REPO / "target/release/blob-server"
    if not binary.is_file():
        print(f"hostile: no server binary at {binary} (set BLOB_SERVER)", file=sys.stderr)
        return 1
    print(f"hostile: attacking {binary}")
    started = time.monotonic()
    servers: list[Server] = []
    try:
        servers.append(Server(binary))
        port = servers[-1].port
        print(f"phase hostile: server on port {port} ...", flush=True)
        hostile = phase_hostile(port)
        alive_after = servers[-1].alive()
        health_ok, health_ms = hostile["healthz"]
        restarted = False
        if not (health_ok and alive_after):
            print("phase hostile: server unresponsive or dead: restarting a fresh one for the slow phases",
                  flush=True)
            servers[-1].stop()
            servers.append(Server(binary))
            port, restarted = servers[-1].port, True
        print("phase slow headers ...", flush=True)
        slow_heads = phase_slow_headers(port)
        print("phase slow body ...", flush=True)
        slow_body = phase_slow_body(port)
        end_ok, end_ms = healthz(port, HEALTH_S)
        end_alive = servers[-1].alive()
    except RuntimeError as e:  # the server would not start or create fixtures
        print(f"hostile: {e}", file=sys.stderr)
        return 1
    finally:
        for s in servers:
            s.stop()

    logs = "\n".join(s.logs for s in servers)
    panic_lines = [line for line in logs.splitlines() if "panicked" in line]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", logs).splitlines()  # the log is coloured even in a file
    error_lines = [line for line in plain if re.search(r"\bERROR\b", line)]
    st: Stats = hostile["stats"]
    x, p, h, j = len(st.fivexx), len(panic_lines), len(st.hangs), len(st.bad_bodies)

    print(f"\n== hostile ({hostile['cases']} connections; batch {hostile['batch_s']:.1f} s, "
          f"with races {hostile['total_s']:.1f} s) ==")
    print(f"  {'requests sent':<40}{st.requests:>7}")
    for kind in ("answered", "clean close", "non-HTTP answer", "closed", "non-http", "abandoned", "hang",
                 "refused"):
        if st.outcomes.get(kind):
            label = {"closed": "closed without answer (not garbage)", "hang": "HANG (no answer in 10 s)",
                     "abandoned": "abandoned on purpose (cut-off body)", "non-http": "non-HTTP answer (!)",
                     "clean close": "clean close (byte-level garbage)", "refused": "connection refused"}
            print(f"    {label.get(kind, kind):<38}{st.outcomes[kind]:>7}")
    if st.skipped:
        print(f"  {'not sent (server already unresponsive)':<40}{st.skipped:>7}")
    if hostile["cause"]:
        print(f"  server stopped answering /healthz after: {hostile['cause']}")
    print("  statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(st.statuses.items())))
    print("  categories: " + ", ".join(f"{k} {v}" for k, v in sorted(st.labels.items())))
    print(f"  {'5xx':<40}{x:>7}")
    print(f"  {'non-JSON /api/ error bodies':<40}{j:>7}")
    print(f"  {'leaks from outside the static dir':<40}{len(st.leaks):>7}")
    print(f"  {'Set-Cookie headers':<40}{len(st.cookies):>7}")
    print_examples("HANGs", st.hangs)
    print_examples("5xx", st.fivexx)
    print_examples("bad /api/ error bodies", st.bad_bodies)
    print_examples("closed without an answer", st.dropped, 6)
    print_examples("leaks", st.leaks)
    print("  races on one resource:")
    for line in hostile["race"]:
        print(line)
    print(f"  /healthz after the phase: {'200 in %.1f ms' % health_ms if health_ok else 'NO 200 within 1 s'}; "
          f"process {'alive' if alive_after else 'DEAD'}" + ("; restarted for the slow phases" if restarted else ""))
    print_slow("slow headers", slow_heads)
    print_slow("slow body", slow_body)
    print(f"\n== server ==\n  panics: {p}, ERROR log lines: {len(error_lines)}; "
          f"/healthz at the end: {'200 in %.1f ms' % end_ms if end_ok else 'NO 200 within 1 s'}, "
          f"process {'alive' if end_alive else 'DEAD'}")
    print_examples("panics", panic_lines, 6)
    print_examples("ERROR log lines", [line[:200] for line in error_lines], 6)
    failed = hostile["failed"]
    print_examples("failed checks", failed)
    print(f"  total {time.monotonic() - started:.0f} s")
    print(f"\nhostile: {st.requests} requests, {x} 5xx, {p} panics, {h} hangs, {j} non-JSON error bodies")
    good = (x == 0 and p == 0 and h == 0 and j == 0 and health_ok and alive_after
            and end_ok and end_alive and not failed)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
