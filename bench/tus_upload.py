#!/usr/bin/env python3
"""A plain tus 1.0 upload of FILE to BASE in 16 MiB PATCHes (what the page
and the CLI send), stdlib only; prints the blob id. Used by bench/engines.sh."""
import http.client
import os
import sys
import urllib.parse

CHUNK = 16 * 1024 * 1024


def main() -> None:
    base, path = sys.argv[1], sys.argv[2]
    url = urllib.parse.urlsplit(base)
    size = os.path.getsize(path)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    conn.request("POST", "/api/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size)})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 201:
        sys.exit(f"create: {resp.status}")
    location, blob_id = resp.getheader("Location"), resp.getheader("Veil-Blob-Id")
    offset = 0
    with open(path, "rb") as f:
        while offset < size:
            chunk = f.read(CHUNK)
            conn.request("PATCH", location, body=chunk, headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            })
            resp = conn.getresponse()
            resp.read()
            if resp.status != 204:
                sys.exit(f"PATCH at {offset}: {resp.status}")
            offset = int(resp.getheader("Upload-Offset"))
    print(blob_id)


if __name__ == "__main__":
    main()
