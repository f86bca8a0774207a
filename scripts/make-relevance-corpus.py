#!/usr/bin/env python3
"""Build a known-item multilingual search corpus from Debian's package-description translations.

Source: the Debian Description Translation Project (DDTP) files of Debian bookworm, main
component, http://deb.debian.org/debian/dists/bookworm/main/i18n/Translation-<lang>.{bz2,xz}
(the suite is pinned to "bookworm"). Translation-en holds the English originals.

Licence: Debian package descriptions and their DDTP translations are distributed by Debian
together with the packages they describe. Credit: "Debian Description Translation Project
(DDTP), Debian bookworm".

Known-item task: every selected package yields one document and one query in one language.
The document (id `<lang>-<package>`) is the package's cleaned long description in that
language; the query is the same package's translated short description. A query's single
relevant document is the same package's long description in the same language, searched for
among all languages' documents. Selection takes, in every language, the first packages in
sha1(package name) order, so one package often appears in several languages; those
translations of the same text are the distractors that make language-aware search matter.

A usable item has a short description of at least 2 words (ja/ko/zh: at least 4 characters),
a long description of at least 120 characters, a short description that is not contained
(case-insensitively) in the long one, is unique in its language (every package whose short
description occurs more than once, such as "transitional package", is dropped) and, outside
English, differs from the English original (untranslated entries). A package with more than
one record in a file is dropped as ambiguous. A language is included if it has at least
--min-usable (300) usable items.

    python3 scripts/make-relevance-corpus.py --out DIR [--per-language N] [--cache DIR]
        [--languages de,fr,...] [--min-usable 300]

Writes DIR/corpus.ndjson ({"id", "body"} per line, no language hint: the service must detect
it) and DIR/queries.tsv (`<lang>\t<id>\t<short description>`), both ordered by language and
then selection order, and prints a per-language summary to stderr.
"""

import argparse
import bz2
import hashlib
import json
import lzma
import os
import sys
import time
import urllib.error
import urllib.request

SUITE = "bookworm"
BASE_URL = f"http://deb.debian.org/debian/dists/{SUITE}/main/i18n"
TIMEOUT = 60  # seconds, per file
EXTENSIONS = ("bz2", "xz")

# ISO 639-1 code -> DDTP file code. One file per language: for Chinese the Simplified
# (zh_CN) file, for Portuguese the Brazilian (pt_BR) one, the larger of each pair.
DDTP_CODE = {
    "ca": "ca", "cs": "cs", "da": "da", "de": "de", "el": "el", "en": "en", "eo": "eo",
    "es": "es", "eu": "eu", "fi": "fi", "fr": "fr", "gl": "gl", "hr": "hr", "hu": "hu",
    "id": "id", "it": "it", "ja": "ja", "km": "km", "ko": "ko", "ml": "ml", "nb": "nb",
    "nl": "nl", "pl": "pl", "pt": "pt_BR", "ro": "ro", "ru": "ru", "sk": "sk", "sr": "sr",
    "sv": "sv", "tr": "tr", "uk": "uk", "vi": "vi", "zh": "zh_CN",
}
DEFAULT_LANGUAGES = sorted(DDTP_CODE)
CJK = {"ja", "ko", "zh"}
MIN_SHORT_WORDS = 2
MIN_SHORT_CHARS_CJK = 4
MIN_LONG_CHARS = 120


def fetch(ddtp_code, cache):
    """Path of the cached Translation file of `ddtp_code`, downloaded if needed; None if the
    mirror has none (404 or an empty file for every extension)."""
    os.makedirs(cache, exist_ok=True)
    for ext in EXTENSIONS:
        path = os.path.join(cache, f"Translation-{ddtp_code}.{ext}")
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            return path
    for ext in EXTENSIONS:
        url = f"{BASE_URL}/Translation-{ddtp_code}.{ext}"
        path = os.path.join(cache, f"Translation-{ddtp_code}.{ext}")
        tmp = path + ".part"
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(tmp, "wb") as out:
                while chunk := response.read(1 << 16):
                    if time.monotonic() - started > TIMEOUT:
                        raise TimeoutError(f"not complete after {TIMEOUT} s")
                    out.write(chunk)
        except urllib.error.HTTPError as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            if e.code == 404:
                continue
            sys.exit(f"error: downloading {url} failed: HTTP {e.code} {e.reason}")
        except (OSError, urllib.error.URLError) as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            sys.exit(f"error: downloading {url} failed: {e}")
        if os.path.getsize(tmp) == 0:
            os.remove(tmp)
            continue
        os.replace(tmp, path)
        print(f"downloaded {url}", file=sys.stderr)
        return path
    return None


def read_text(path):
    opener = bz2.open if path.endswith(".bz2") else lzma.open
    with opener(path, "rb") as f:
        return f.read().decode("utf-8")


def parse(text, ddtp_code):
    """Records (package, md5, short, long) of a Translation file; `long` is cleaned text."""
    field = f"Description-{ddtp_code}"
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t":
                if key is not None:
                    fields[key].append(line)
            else:
                key, _, value = line.partition(":")
                fields[key] = [value.strip()]
        if "Package" not in fields or field not in fields:
            continue
        description = fields[field]
        yield (fields["Package"][0], fields.get("Description-md5", [""])[0],
               " ".join(description[0].split()), clean_long(description[1:]))


def clean_long(lines):
    """Debian long description lines -> plain text: paragraphs (split at " .") joined by a
    blank line, the lines of a paragraph joined by single spaces."""
    paragraphs, current = [], []
    for line in lines:
        if line.strip() == ".":
            if current:
                paragraphs.append(" ".join(current))
            current = []
        elif words := line.split():
            current.append(" ".join(words))
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def norm(s):
    return " ".join(s.casefold().split())


def usable_items(lang, records, english):
    """(usable items, counts of the reasons items were dropped)."""
    per_package, per_short = {}, {}
    for package, md5, short, long in records:
        per_package.setdefault(package, []).append((md5, short, long))
    for package, recs in per_package.items():
        for short in {norm(short) for _, short, _ in recs}:
            per_short[short] = per_short.get(short, 0) + 1
    dropped = {k: 0 for k in ("multiple-records", "short-too-short", "long-too-short",
                              "short-in-long", "duplicate-short", "untranslated")}
    items = []
    for package, recs in per_package.items():
        if len(recs) > 1:
            dropped["multiple-records"] += 1
            continue
        md5, short, long = recs[0]
        if lang in CJK:
            short_ok = len(short.replace(" ", "")) >= MIN_SHORT_CHARS_CJK
        else:
            short_ok = len(short.split()) >= MIN_SHORT_WORDS
        if not short_ok:
            dropped["short-too-short"] += 1
        elif len(long) < MIN_LONG_CHARS:
            dropped["long-too-short"] += 1
        elif norm(short) in norm(long):
            dropped["short-in-long"] += 1
        elif per_short[norm(short)] > 1:
            dropped["duplicate-short"] += 1
        elif english is not None and lang != "en" and norm(english.get(md5, "")) == norm(short):
            dropped["untranslated"] += 1
        else:
            items.append((package, short, long))
    return items, dropped


def sha1(package):
    return hashlib.sha1(package.encode("utf-8")).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--per-language", type=int, default=300, metavar="N",
                        help="items selected per language (default 300)")
    parser.add_argument("--cache", default=os.path.expanduser(f"~/.cache/glossa/relevance/{SUITE}"),
                        help=f"download cache (default ~/.cache/glossa/relevance/{SUITE})")
    parser.add_argument("--languages", default=",".join(DEFAULT_LANGUAGES),
                        help="comma-separated ISO 639-1 codes to consider (default: all known)")
    parser.add_argument("--min-usable", type=int, default=300, metavar="M",
                        help="include a language only with at least M usable items (default 300)")
    args = parser.parse_args()

    languages = []
    for code in args.languages.split(","):
        code = code.strip()
        iso = code.split("_")[0]
        if iso not in DDTP_CODE:
            sys.exit(f"error: unknown language {code!r}; known: {','.join(DEFAULT_LANGUAGES)}")
        if iso not in languages:
            languages.append(iso)
    languages.sort()

    english = None
    en_path = fetch("en", args.cache)
    if en_path is None:
        print("warning: no Translation-en file: untranslated entries are NOT filtered out",
              file=sys.stderr)
    else:
        english = {md5: short for _, md5, short, _ in parse(read_text(en_path), "en")}

    selected, summary = [], []
    for lang in languages:
        ddtp = DDTP_CODE[lang]
        path = en_path if lang == "en" else fetch(ddtp, args.cache)
        if path is None:
            summary.append((lang, ddtp, 0, 0, 0, "no file on the mirror", ""))
            continue
        records = list(parse(read_text(path), ddtp))
        items, dropped = usable_items(lang, records, english)
        reasons = " ".join(f"{k}={v}" for k, v in dropped.items() if v)
        if len(items) < args.min_usable:
            summary.append((lang, ddtp, len(records), len(items), 0,
                            f"excluded (< {args.min_usable} usable)", reasons))
            continue
        items.sort(key=lambda item: sha1(item[0]))
        chosen = items[:args.per_language]
        selected.append((lang, chosen))
        summary.append((lang, ddtp, len(records), len(items), len(chosen), "", reasons))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "corpus.ndjson"), "w", encoding="utf-8") as corpus, \
            open(os.path.join(args.out, "queries.tsv"), "w", encoding="utf-8") as queries:
        for lang, chosen in selected:
            for package, short, long in chosen:
                doc_id = f"{lang}-{package}"
                corpus.write(json.dumps({"id": doc_id, "body": long}, ensure_ascii=False) + "\n")
                query = " ".join(short.replace("\t", " ").replace("\n", " ").split())
                queries.write(f"{lang}\t{doc_id}\t{query}\n")

    print(f"{'lang':<5}{'file':<7}{'records':>8}{'usable':>8}{'selected':>9}  notes",
          file=sys.stderr)
    for lang, ddtp, n_records, n_usable, n_chosen, note, reasons in summary:
        print(f"{lang:<5}{ddtp:<7}{n_records:>8}{n_usable:>8}{n_chosen:>9}  {note} "
              f"[dropped: {reasons or '-'}]", file=sys.stderr)
    total = sum(len(chosen) for _, chosen in selected)
    print(f"{len(selected)} languages, {total} documents/queries -> {args.out}", file=sys.stderr)
    packages = {}
    for lang, chosen in selected:
        for package, _, _ in chosen:
            packages[package] = packages.get(package, 0) + 1
    shared = sum(1 for n in packages.values() if n > 1)
    print(f"{len(packages)} distinct packages, {shared} of them in more than one language",
          file=sys.stderr)


if __name__ == "__main__":
    main()
