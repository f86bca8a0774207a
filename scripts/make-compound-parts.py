#!/usr/bin/env python3
"""Build src/analysis/data/compound-parts.tsv.gz: the words compounds are split into.

Source: wordfreq 3.1.1 (PyPI; its data is CC BY-SA 4.0, by Robyn Speer and contributors). For
German, Danish and Finnish (the compounding languages the relevance suite measures:
docs/benchmarks/relevance.md) the table lists each language's 100,000 most frequent words that
are alphabetic and at least 4 letters long (Danish: wordfreq lists fewer). The embedded
analyzers of those languages add a compound's parts after it when such words cover it
(`src/analysis/decompound.rs`).

    python3 -m pip install wordfreq==3.1.1   # pulls msgpack
    python3 scripts/make-compound-parts.py [--out src/analysis/data/compound-parts.tsv.gz]

Output: gzip text, "lang<TAB>word" per line, sorted. Deterministic (gzip mtime 0).
"""
import argparse
import gzip
import importlib.metadata
import os
import sys

try:
    import wordfreq
except ImportError:
    sys.exit("make-compound-parts: needs `python3 -m pip install wordfreq==3.1.1`")

VERSION = "3.1.1"
LANGUAGES = ["da", "de", "fi"]
TOP = 100_000
MIN_CHARS = 4


def main():
    installed = importlib.metadata.version("wordfreq")
    if installed != VERSION:
        sys.exit(f"make-compound-parts: wordfreq {installed} is installed; the table is built from {VERSION}")
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(here), "src", "analysis", "data", "compound-parts.tsv.gz"))
    args = ap.parse_args()
    lines = []
    for lang in LANGUAGES:
        words = sorted({w for w in wordfreq.top_n_list(lang, TOP) if w.isalpha() and len(w) >= MIN_CHARS})
        lines += [f"{lang}\t{w}" for w in words]
        print(f"{lang}: {len(words)} words", file=sys.stderr)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(args.out, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as gz:
            gz.write(data)
    print(f"wrote {len(lines)} words to {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
