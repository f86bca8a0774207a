#!/usr/bin/env python3
"""Generate a large multilingual NDJSON corpus from the bundled sample, for ingest benchmarks.

Each output record picks a random sample article and builds a body of about --bytes bytes from
random sentences of articles in the same language (so documents are not identical but stay
monolingual), with a fresh id and varied metadata. Deterministic for a given --seed.

    python3 loadtest/gen_corpus.py --count 100000 --out /tmp/corpus.ndjson
    python3 loadtest/gen_corpus.py --count 100000 --with-lang-hints --out /tmp/hinted.ndjson

--with-lang-hints adds each record's true language as a `lang` field, which makes Glossa skip
detection: ingesting both files measures what detection costs end to end.
"""
import argparse
import json
import random
import re
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "udhr.ndjson"
# udhr edition code prefix -> ISO 639-1, for --with-lang-hints
ISO = {
    "arb": "ar", "cmn": "zh", "jpn": "ja", "kor": "ko", "rus": "ru", "hin": "hi", "deu": "de",
    "fra": "fr", "spa": "es", "ita": "it", "por": "pt", "nld": "nl", "pol": "pl", "tur": "tr",
    "ell": "el", "heb": "he", "tha": "th", "vie": "vi", "swe": "sv", "fin": "fi", "ukr": "uk",
    "pes": "fa", "ind": "id", "khm": "km",
}
SENTENCE = re.compile(r"(?<=[.!?।。！？])\s*")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--bytes", type=int, default=500, help="target body size in bytes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--with-lang-hints", action="store_true")
    args = parser.parse_args()

    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    sentences_by_edition = {}
    for r in records:
        parts = [s for s in SENTENCE.split(r["body"]) if s.strip()] or [r["body"]]
        sentences_by_edition.setdefault(r["edition_code"], []).extend(parts)
    rng = random.Random(args.seed)
    written = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for n in range(args.count):
            base = rng.choice(records)
            pool = sentences_by_edition[base["edition_code"]]
            body = ""
            while len(body.encode("utf-8")) < args.bytes:
                body = (body + " " + rng.choice(pool)).strip()
            record = {
                "id": f"gen-{args.seed}-{n}",
                "title": base["title"],
                "body": body,
                "collection": "generated",
                "article": base["article"],
                "edition_code": base["edition_code"],
                "batch": n % 97,
            }
            if args.with_lang_hints:
                record["lang"] = ISO.get(base["edition_code"].split("_")[0], "und")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    print(f"wrote {written} records to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
