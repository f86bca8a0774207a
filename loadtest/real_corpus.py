#!/usr/bin/env python3
"""Real multilingual text for ingest and scale benchmarks: Debian's package descriptions in
every language the Debian Description Translation Project (DDTP) translates them into.

Source: the DDTP Translation files of Debian bookworm, main component (the same files, cache
and download code as scripts/make-relevance-corpus.py; credit: "Debian Description
Translation Project (DDTP), Debian bookworm"). Every entry of every language file is one
record: `title` is the package's short description, `body` its long description (paragraphs
joined by a blank line), `package` its name. That is 248,000 records in 28 languages whose
sizes follow the translators' work (Danish, Italian and English 50,000-64,000 each, Greek 6),
530 bytes on average, from one-line bodies to several kilobytes: real titles and bodies of
varied length, not text generated from the detection sample.

Records are written in a fixed shuffled order (all languages mixed, as a real stream is).
Past the 248,000 real entries (--count above the pool, or --skip), each further pass over the
pool writes every entry again with a fresh id (`<lang>-<package>-<pass>`), its own title, and
a body of as many paragraphs drawn at random from entries of the same language: unique
documents with the real length, language and vocabulary distribution, for 1M-10M runs.

    python3 loadtest/real_corpus.py --count 1000000 --out /tmp/real-1m.ndjson
    python3 loadtest/real_corpus.py --count 4000000 --skip 1000000 --out /tmp/real-next-4m.ndjson

--skip N starts at record N of the same sequence, so consecutive files never repeat an id.
--with-lang-hints adds the file's language as `lang` (detection skipped: the same-run
baseline that isolates detection's cost).
"""

import argparse
import importlib.util
import json
import os
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = importlib.util.spec_from_file_location(
    "relevance_corpus", HERE.parent / "scripts" / "make-relevance-corpus.py")
ddtp = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ddtp)

SEED = 17


def load_pool(cache):
    """Every (lang, package, title, body) of every DDTP language file, in a fixed shuffle."""
    pool = []
    for lang in sorted(ddtp.DDTP_CODE):
        code = ddtp.DDTP_CODE[lang]
        path = ddtp.fetch(code, cache)
        if path is None:
            print(f"warning: no Translation file for {lang} on the mirror", file=sys.stderr)
            continue
        for package, _md5, short, long in ddtp.parse(ddtp.read_text(path), code):
            if short or long:
                pool.append((lang, package, short, long))
    random.Random(SEED).shuffle(pool)
    return pool


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True, help="records to write")
    parser.add_argument("--skip", type=int, default=0, help="start at record N of the sequence")
    parser.add_argument("--out", required=True, help="output NDJSON file ('-' for stdout)")
    parser.add_argument("--with-lang-hints", action="store_true")
    parser.add_argument("--cache", default=os.path.expanduser(f"~/.cache/glossa/relevance/{ddtp.SUITE}"))
    args = parser.parse_args()

    pool = load_pool(args.cache)
    if not pool:
        sys.exit("error: no DDTP entries (no cached Translation files and no mirror)")
    paragraphs = {}
    for lang, _, _, body in pool:
        paragraphs.setdefault(lang, []).extend(p for p in body.split("\n\n") if p)

    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    written, languages = 0, {}
    for n in range(args.skip, args.skip + args.count):
        lap, index = divmod(n, len(pool))
        lang, package, title, body = pool[index]
        record = {"id": f"{lang}-{package}", "title": title}
        if lap > 0:
            rng = random.Random(n)
            own = paragraphs[lang]
            body = "\n\n".join(rng.choice(own) for _ in range(max(1, body.count("\n\n") + 1)))
            record["id"] = f"{lang}-{package}-{lap}"
        record["body"] = body
        record["package"] = package
        if args.with_lang_hints:
            record["lang"] = lang
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
        languages[lang] = languages.get(lang, 0) + 1
    if out is not sys.stdout:
        out.close()
    top = ", ".join(f"{l} {c}" for l, c in sorted(languages.items(), key=lambda kv: -kv[1])[:8])
    print(f"{written} records from a pool of {len(pool)} DDTP entries ({len(languages)} languages: "
          f"{top}, ...)", file=sys.stderr)


if __name__ == "__main__":
    main()
