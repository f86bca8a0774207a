#!/usr/bin/env bash
# Build src/analysis/data/ipadic.dic.zst: the Japanese morphological dictionary of the embedded
# backend's `ja` field (src/analysis/japanese.rs).
#
# Source: Debian bookworm's `mecab-ipadic` package (IPADIC 2.7.0-20070801, NAIST; BSD-style
# licence with the ICOT terms, reproduced in src/analysis/data/IPADIC-COPYING). Its CSVs are
# EUC-JP; they are converted to UTF-8 and cut to the features the analyzer reads (part of speech and
# base form), then compiled by vibrato (the version pinned in Cargo.toml)
# and zstd-compressed.
#
#     bash scripts/make-ja-dictionary.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DEB=mecab-ipadic_2.7.0-20070801+main-3_all.deb
URL=https://deb.debian.org/debian/pool/main/m/mecab-ipadic/$DEB
SHA256=2a59bb65193b605cec3e5540e69e7d3ce8db4624744f8686f419aa0cf3f327f2
OUT=src/analysis/data/ipadic.dic.zst

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsS --max-time 300 -o "$work/$DEB" "$URL" || { echo "make-ja-dictionary: cannot download $URL" >&2; exit 1; }
echo "$SHA256  $work/$DEB" | sha256sum -c --quiet - || { echo "make-ja-dictionary: $DEB checksum differs" >&2; exit 1; }
dpkg-deb -x "$work/$DEB" "$work/deb"
dic="$work/deb/usr/share/mecab/dic/ipadic"
mkdir "$work/src"

# surface,left,right,cost,pos1,pos2,pos3,pos4,conj type,conj form,base,reading,pronunciation
# -> surface,left,right,cost,pos1[,base] (the base form only where it is not the surface): the
# features are held in memory as one string per entry, so every byte cut saves ~400 kB.
for csv in "$dic"/*.csv; do iconv -f EUC-JP -t UTF-8 "$csv"; done | python3 -c '
import csv, sys
out = csv.writer(sys.stdout, lineterminator="\n")
for row in csv.reader(sys.stdin):
    surface, base = row[0], row[10]
    out.writerow(row[:5] + ([] if base in (surface, "*") else [base]))
' > "$work/src/lex.csv"
# Unknown-word classes: category,left,right,cost,pos1.
iconv -f EUC-JP -t UTF-8 "$dic/unk.def" | python3 -c '
import csv, sys
out = csv.writer(sys.stdout, lineterminator="\n")
for row in csv.reader(sys.stdin):
    out.writerow(row[:5])
' > "$work/src/unk.def"
# One change to IPADIC: unknown katakana words are no longer grouped into one word per run but
# made of pieces of up to 7 characters, so a run of loanwords the dictionary partly knows
# (プロセススケジューリングデーモン) splits into them, as in kuromoji's search mode, instead of
# being one term no query shares.
iconv -f EUC-JP -t UTF-8 "$dic/char.def" | sed 's/^KATAKANA       1 1 2$/KATAKANA       1 0 7/' > "$work/src/char.def"
grep -q '^KATAKANA       1 0 7$' "$work/src/char.def" || { echo "make-ja-dictionary: char.def has no KATAKANA line to change" >&2; exit 1; }
cp "$dic/matrix.def" "$work/src/matrix.def"

cargo run --release --quiet --example make-ja-dictionary -- "$work/src" "$OUT"
ls -l "$OUT"
