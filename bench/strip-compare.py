#!/usr/bin/env python3
"""Side-by-side metadata removal on every corpus file: Veil vs `exiftool -all=`
vs mat2. For each file and tool: residual sensitive tags (exiftool's view),
lossless (decoded pixels/frames equal), orientation kept (IFD0, a missing tag
meaning 1), ICC profile byte-identical, and wall time. Prints a Markdown table
for the pictures and videos (tests/corpus) and one for the documents and
audio (tests/corpus-docs), where lossless means: decoded samples equal
(ffmpeg MD5), pixels equal (djxl), pages render the same (pdftoppm), SVG
renders the same (rsvg-convert), or the document's parts equal but for the
edit history (tests/office_content.py, the Rust test's package judge).

The sensitive-tag rule is the one in wasm-core/tests/judge/mod.rs; for PDFs,
qpdf's object dump adds what exiftool does not read (comment authors, earlier
revisions), as wasm-core/tests/corpus_docs.rs does.

Usage: python3 bench/strip-compare.py  (needs target/release/veil; make bench builds it)
"""
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
CORPUS_DOCS = ROOT / "tests" / "corpus-docs"
VEIL = ROOT / "target" / "release" / "veil"

GROUPS = ("XMP", "IPTC", "ExifIFD", "GPS", "IFD1", "MakerNotes", "Photoshop", "Apple", "Canon", "Nikon",
          "Olympus", "Sony", "Samsung", "UserData", "Keys", "ItemList", "Trailer", "MPImage", "FlashPix", "PrintIM",
          "ID3", "APE", "Lyrics3", "iTunes", "SVG-")
WORDS = ("GPS", "Make", "Model", "Serial", "Lens", "Owner", "Date", "Time", "Comment", "Thumbnail", "Preview",
         "MakerNote", "Software", "Artist", "Copyright", "Trailer", "Description", "Location", "DocumentID",
         "InstanceID", "UniqueID", "Creator", "History", "Author", "Title", "Keywords", "Host", "Album", "Genre",
         "Lyrics", "Composer", "Encoder", "Vendor", "Picture", "Label", "Publisher", "Company", "Manager", "ISRC",
         "MusicBrainz", "Product", "Engineer")
HARMLESS = {"TimeScale", "MediaTimeScale", "PreviewTime", "PreviewDuration", "PosterTime", "SelectionTime",
            "SelectionDuration", "CurrentTime", "NextTrackID", "TrackDuration", "MediaDuration", "Duration",
            "HandlerDescription", "ColorTransform", "DCTEncodeVersion", "TimeCode", "SampleTime", "SampleDuration",
            "ProductionApertureDimensions", "CopyrightFlag"}
# Kept on purpose because playback needs it (see the Rust judge).
KEPT = {("MPEG", "Encoder"), ("iTunes", "iTunSMPB")}


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


def residual(path):
    out = run("exiftool", "-j", "-a", "-G1", "-ee", str(path)).stdout
    tags = json.loads(out or b"[{}]")[0]
    bad = []
    for key, value in tags.items():
        group, _, name = key.partition(":")
        if group.startswith("ICC") or group in ("System", "ExifTool", "") or name in HARMLESS:
            continue
        if "0000:00:00 00:00:00" in str(value) or value == "" or (group, name) in KEPT:
            continue
        if group == "ZIP" and "1980:01:01 00:00:00" in str(value):  # ZIP's zero date
            continue
        if any(group.startswith(g) for g in GROUPS) or any(w in name for w in WORDS):
            bad.append(name)
    if path.suffix == ".pdf":
        bad += pdf_left(path)
    return bad


def pdf_left(path):
    """What exiftool does not see in a PDF (the Rust judge's pdf_left, with
    qpdf): the information dictionary, file ids, XMP and application data
    in the live objects, comment authors and dates, and earlier revisions."""
    r = run("qpdf", "--json", "--json-stream-data=none", str(path))
    if r.returncode not in (0, 3):  # 3: read with warnings
        return ["unreadable by qpdf"]
    objects = json.loads(r.stdout)["qpdf"][1]
    found = [f"trailer {k}" for k in ("/Info", "/ID") if k in objects["trailer"]["value"]]
    linearized = False
    for oid, obj in objects.items():
        d = obj["stream"]["dict"] if "stream" in obj else obj.get("value")
        if not isinstance(d, dict):
            continue
        linearized |= "/Linearized" in d
        found += [f"{oid} {k}" for k in ("/Metadata", "/PieceInfo", "/LastModified") if k in d]
        sub = d.get("/Subtype")
        annot = d.get("/Type") == "/Annot" or (sub is not None and "/Rect" in d)
        if annot and sub not in ("/Widget", "/Link") and "/FT" not in d:
            found += [f"{oid} annotation {k}" for k in ("/T", "/M", "/CreationDate") if k in d]
    eofs = path.read_bytes().count(b"%%EOF")
    if eofs > 1 + int(linearized):
        found.append(f"{eofs} revisions")
    return found


def digest(r):
    return hashlib.sha256(r.stdout).hexdigest() if r.returncode == 0 and r.stdout else None


def decoded(path):
    ext = path.suffix.lower()
    if ext in (".mp3", ".flac", ".wav", ".ogg", ".m4a", ".opus"):
        return digest(run("ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-f", "md5", "-"))
    if ext == ".pdf":
        return digest(run("pdftoppm", "-r", "40", "-png", str(path)))
    if ext == ".svg":
        return digest(run("rsvg-convert", str(path)))
    if ext in (".docx", ".pptx", ".xlsx", ".odt", ".ods", ".odp"):
        # The package judge the Rust test uses: every part but the package's
        # metadata equal, element for element, save the edit history
        # (authors, dates, rsids); None when the package is broken.
        return digest(run("python3", str(ROOT / "tests" / "office_content.py"), str(path)))
    if ext == ".jxl":
        with tempfile.TemporaryDirectory() as d:
            ppm = pathlib.Path(d) / "x.ppm"
            r = run("djxl", str(path), str(ppm))
            return hashlib.sha256(ppm.read_bytes()).hexdigest() if r.returncode == 0 and ppm.exists() else None
    if ext in (".heic", ".avif"):
        with tempfile.TemporaryDirectory() as d:
            png = pathlib.Path(d) / "x.png"
            r = run("heif-convert", str(path), str(png))
            if r.returncode != 0 or not png.exists():
                return None
            r = run("ffmpeg", "-v", "error", "-i", str(png), "-f", "framemd5", "-")
    else:
        r = run("ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-")
    if r.returncode != 0:
        return None
    return hashlib.sha256(b"\n".join(l for l in r.stdout.splitlines() if not l.startswith(b"#"))).hexdigest()


def orientation(path):
    o = run("exiftool", "-s3", "-n", "-IFD0:Orientation", str(path)).stdout.strip()
    return o or b"1"


def icc(path):
    return hashlib.sha256(run("exiftool", "-b", "-icc_profile", str(path)).stdout).hexdigest()


def clean(tool, src, work):
    """Returns (output path or None, seconds)."""
    dst = work / f"{tool}-{src.name}"
    t0 = time.perf_counter()
    if tool == "veil":
        r = run(str(VEIL), "strip", str(src), "-o", str(dst), "--force")
    elif tool == "exiftool":
        r = run("exiftool", "-q", "-all=", "-o", str(dst), str(src))
    else:
        tmp = work / f"mat2-in-{src.name}"
        shutil.copy(src, tmp)
        r = run("mat2", str(tmp))
        produced = tmp.with_name(tmp.stem + ".cleaned" + tmp.suffix)
        if produced.exists():
            produced.rename(dst)
    seconds = time.perf_counter() - t0
    return (dst if r.returncode == 0 and dst.exists() else None), seconds


def table(corpus, tools):
    files = sorted(p for p in corpus.iterdir() if p.suffix != ".tsv")
    totals = {t: {"clean": 0, "lossless": 0, "orient": 0, "icc": 0, "failed": 0, "time": 0.0} for t in tools}
    print(f"### {corpus.relative_to(ROOT)}")
    print()
    print("| file | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    with tempfile.TemporaryDirectory() as d:
        work = pathlib.Path(d)
        for f in files:
            base_pixels, base_orient, base_icc = decoded(f), orientation(f), icc(f)
            cells = []
            for t in tools:
                out, secs = clean(t, f, work)
                totals[t]["time"] += secs
                if out is None:
                    totals[t]["failed"] += 1
                    cells.append(f"refused ({secs*1000:.0f} ms)")
                    continue
                left = residual(out)
                lossless = base_pixels is not None and decoded(out) == base_pixels
                o_ok = orientation(out) == base_orient
                i_ok = icc(out) == base_icc
                totals[t]["clean"] += not left
                totals[t]["lossless"] += lossless
                totals[t]["orient"] += o_ok
                totals[t]["icc"] += i_ok
                flags = f"{len(left)} left" + ("" if lossless else ", NOT lossless") + ("" if o_ok else ", orientation lost") + ("" if i_ok else ", ICC lost")
                cells.append(f"{flags} ({secs*1000:.0f} ms)")
            print(f"| {f.name} | " + " | ".join(cells) + " |")
    n = len(files)
    print()
    print("| tool | files with no sensitive tag left | lossless | orientation kept | ICC kept | refused/failed | total time |")
    print("|---|---|---|---|---|---|---|")
    for t in tools:
        s = totals[t]
        print(f"| {t} | {s['clean']}/{n} | {s['lossless']}/{n} | {s['orient']}/{n} | {s['icc']}/{n} | {s['failed']} | {s['time']:.2f} s |")
    print()


def main():
    tools = ["veil", "exiftool"] + (["mat2"] if shutil.which("mat2") else [])
    if not VEIL.exists():
        sys.exit("build target/release/veil first (cargo build --release -p veil-cli)")
    for corpus in (CORPUS, CORPUS_DOCS):
        table(corpus, tools)


if __name__ == "__main__":
    main()
