#!/usr/bin/env python3
"""Realistic multilingual search queries for loadtest/search-bench.sh, URL-encoded, one per line.

Each query is 1 to 4 consecutive words of a random sentence of the bundled UDHR sample (24
languages, the texts the benchmark corpus is generated from, so queries find documents), in
the language of that sentence. Ideographic and Thai/Khmer texts, which have no spaces, give 2
to 8 consecutive characters instead. With --with-lang, each query also carries its language
(`lang=xx`), which skips query-language detection: the same-run comparison of what detection
costs. Deterministic for a given --seed.

    python3 loadtest/search_queries.py --count 5000 --out /tmp/queries.txt [--with-lang]
"""
import argparse
import json
import random
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_corpus import ISO  # noqa: E402  (udhr edition code prefix -> ISO 639-1)

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "udhr.ndjson"
UNSPACED = {"zh", "ja", "th", "km"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--with-lang", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    docs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line]
    with open(args.out, "w", encoding="utf-8") as out:
        for _ in range(args.count):
            doc = rng.choice(docs)
            lang = ISO.get(doc["edition_code"].split("_")[0], "und")
            text = doc["body"]
            if lang in UNSPACED:
                n = rng.randint(2, 8)
                start = rng.randrange(max(1, len(text) - n))
                query = text[start:start + n].strip()
            else:
                words = [w.strip(".,;:()«»\"'") for w in text.split()]
                words = [w for w in words if w]
                n = rng.randint(1, 4)
                start = rng.randrange(max(1, len(words) - n))
                query = " ".join(words[start:start + n])
            if not query.strip():
                continue
            params = {"q": query, "size": "10"}
            if args.with_lang:
                params["lang"] = lang
            out.write(urllib.parse.urlencode(params) + "\n")


if __name__ == "__main__":
    main()
