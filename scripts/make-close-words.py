#!/usr/bin/env python3
"""Build src/detect/data/close-words.tsv.gz: word frequencies that tell close languages apart.

Source: wordfreq 3.1.1 (PyPI; its data is CC BY-SA 4.0, by Robyn Speer and contributors, built
from Wikipedia, OpenSubtitles, news, books, web text and more). For each group of close
languages that wordfreq covers separately (id/ms, nb/da, cs/sk, es/ca/pt) the table lists every
alphabetic word that one of them uses at a frequency of 1e-6 or more, with its frequency in
each language of the group in centibels below 1 (wordfreq's own unit: 250 means 10^-2.5); a
language that does not list the word gets MISSING (ten times rarer than the rarest listed).

Not covered, for want of data: Nynorsk (wordfreq has Bokmål only), Bosnian, Croatian and
Serbian (wordfreq merges them as "sh"). The detector keeps lingua's decision between those.

    python3 -m pip install wordfreq==3.1.1   # pulls msgpack
    python3 scripts/make-close-words.py [--out src/detect/data/close-words.tsv.gz]

Output: gzip text; a line "#group id ms" starts each group, then "word<TAB>cB<TAB>cB..." in the
group's order, words sorted. Deterministic (gzip mtime 0).
"""
import argparse
import importlib.metadata
import gzip
import os
import sys

try:
    import msgpack
    import wordfreq
except ImportError:
    sys.exit("make-close-words: needs `python3 -m pip install wordfreq==3.1.1`")

VERSION = "3.1.1"
# Glossa language code -> wordfreq list. "small" lists stop at 1e-6; the large ones are cut
# there too so every language is listed to the same depth.
GROUPS = [
    [("id", "small_id"), ("ms", "small_ms")],
    [("nb", "small_nb"), ("da", "small_da")],
    [("cs", "small_cs"), ("sk", "small_sk")],
    [("es", "large_es"), ("ca", "large_ca"), ("pt", "large_pt")],
]
CUTOFF = 600  # centibels: frequency 1e-6
MISSING = CUTOFF + 100


def load(name):
    path = os.path.join(os.path.dirname(wordfreq.__file__), "data", f"{name}.msgpack.gz")
    with gzip.open(path) as f:
        buckets = msgpack.unpackb(f.read(), raw=False)
    words = {}
    # buckets[0] is a header; bucket i holds the words of frequency 10^(-i/100).
    for cb, bucket in enumerate(buckets[1:]):
        if cb > CUTOFF:
            break
        for w in bucket:
            if w.isalpha():
                words.setdefault(w, cb)
    return words


def main():
    installed = importlib.metadata.version("wordfreq")
    if installed != VERSION:
        sys.exit(f"make-close-words: wordfreq {installed} is installed; the table is built from {VERSION}")
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(here), "src", "detect", "data", "close-words.tsv.gz"))
    args = ap.parse_args()
    lines = []
    total = 0
    for group in GROUPS:
        lists = [load(name) for _, name in group]
        lines.append("#group " + " ".join(code for code, _ in group))
        words = sorted(set().union(*lists))
        for w in words:
            lines.append(w + "\t" + "\t".join(str(l.get(w, MISSING)) for l in lists))
        total += len(words)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(args.out, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as gz:
            gz.write(data)
    print(f"wrote {total} words in {len(GROUPS)} groups to {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
