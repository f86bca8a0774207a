#!/usr/bin/env python3
"""Build the language-detection benchmark corpus in benches/data/.

Source: GNOME's translated user help (Mallard pages under
/usr/share/help/<locale>/) as shipped in Debian 12 "bookworm" binary packages
(gnome-user-docs plus the help of a set of GNOME applications), and, for
Norwegian Bokmal only (GNOME help has no nb translation), the Norwegian man
pages of Debian's manpages-nb package.  None of it is UDHR text.

Steps: `apt-get download` each pinned package into a temporary directory
(every call has a timeout; `apt-get update` is run once if a package cannot be
located), unpack it with `dpkg-deb -x`, extract paragraph text, drop
untranslated/English leftovers, then sample deterministically (fixed seed):

  benches/data/langid-long.ndjson   {"lang": "de", "text": "..."}  300-1500 bytes
  benches/data/langid-short.ndjson  {"lang": "de", "text": "..."}  1-5 words

Python 3 stdlib only; needs apt-get and dpkg-deb (Debian/Ubuntu).  Downloading
packages with apt-get needs root (or a writable --workdir and apt lists).

    python3 scripts/make-bench-corpus.py [--out-dir benches/data]
"""

import argparse
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET

SEED = 20240601
MAX_LONG = 100      # per language
MIN_LONG = 30       # languages with fewer long texts are left out entirely
N_SHORT = 100       # per language
MAX_SHORT_TITLES = 50  # at most this many short texts are page/section titles
LONG_MIN_BYTES = 300
LONG_MAX_BYTES = 1500
DOWNLOAD_TIMEOUT_S = 300
UPDATE_TIMEOUT_S = 600
EXTRACT_TIMEOUT_S = 300

# (package, Debian 12 version).  If the pinned version is not available the
# candidate version is used and a warning is printed (output may then differ).
HELP_PACKAGES = [
    ("gnome-user-docs", "43.0-2"),
    ("gnome-devel-docs", "40.3-1"),
    ("evince-common", "43.1-2+deb12u1"),
    ("aisleriot", "1:3.22.23-1"),
    ("gedit-common", "44.2-1"),
    ("eog", "43.2-1+deb12u1"),
    ("gnome-calculator", "1:43.0.1-2"),
    ("orca", "43.1-1"),
    ("seahorse", "43.0-1"),
    ("totem-common", "43.0-2"),
    ("gnome-terminal-data", "3.46.8-1"),
    ("gnome-system-monitor", "42.0-2"),
    ("gnome-boxes", "43.2-1"),
    ("simple-scan", "42.5-2"),
    ("gnome-dictionary", "40.0-3"),
    ("zenity-common", "3.44.0-1"),
    ("brasero-common", "3.12.3-2"),
    ("shotwell-common", "0.30.17-1"),
    ("file-roller", "43.0-1"),
    ("cheese-common", "43.0-1"),
    ("baobab", "43.0-1"),
    ("gnome-music", "42.1-1"),
    ("gnome-sudoku", "1:43.1-1"),
    ("iagno", "1:3.38.1-2"),
    ("gnome-clocks", "43.0-1"),
    ("gnome-mahjongg", "1:3.38.3-2"),
    ("ghex", "43.1-1"),
    ("gnome-mines", "1:40.1-1"),
    ("swell-foop", "1:41.1-1"),
    ("gnome-photos", "43.0-2"),
    ("polari", "43.0-1"),
    ("gnome-chess", "1:43.1-1"),
    ("five-or-more", "1:3.32.3-1"),
    ("quadrapassel", "1:40.2-1"),
    ("lightsoff", "1:40.0.1-1"),
    ("gnome-tetravex", "1:3.38.2-3"),
    ("four-in-a-row", "1:3.38.1-1+b1"),
    ("hitori", "3.38.4-2"),
    ("gnome-nibbles", "1:3.38.2-2+b1"),
    ("gnome-robots", "1:40.0-2"),
    ("gnome-logs", "43.0-1"),
]
MAN_PACKAGES = [
    ("manpages-nb", "4.18.1-1"),
]

# lingua's 75 languages (ISO 639-1).
LINGUA = set("""af sq ar hy az eu be bn nb bs bg ca zh hr cs da nl en eo et fi fr
lg ka de el gu he hi hu is id ga it ja kk ko la lv lt mk ms mi mr mn nn fa pl pt
pa ro ru sr sn sk sl so st es sw sv tl ta te th ts tn tr uk ur vi cy xh yo zu""".split())

# GNOME help locale directory -> ISO 639-1.  Locales not listed map to
# themselves if they are a lingua language; everything else is ignored.
LOCALE_MAP = {"C": "en", "pt_BR": "pt", "zh_CN": "zh"}
# Skipped on purpose: sr@latin (lingua models Serbian in Cyrillic; the Latin
# text would be scored as hr/bs), zh_TW/zh_HK (tiny), en_GB (near-copy of C).
LOCALE_SKIP = {"sr@latin", "zh_TW", "zh_HK", "en_GB"}

NON_LATIN = {"ar", "be", "bg", "bn", "el", "fa", "gu", "he", "hi", "hy", "ja",
             "ka", "kk", "ko", "mk", "mn", "mr", "pa", "ru", "sr", "ta", "te",
             "th", "uk", "ur", "zh"}
NO_SPACES = {"ja", "zh", "th"}

# Inline Mallard/DocBook elements whose content is code, paths, commands...
DROP_TAGS = {"code", "cmd", "screen", "sys", "file", "var", "input", "output",
             "media", "comment", "synopsis", "literal", "filename", "command",
             "userinput", "computeroutput", "programlisting", "replaceable",
             "envar", "email"}
BLOCK_SKIP = {"info", "articleinfo", "bookinfo", "sectioninfo", "credit",
              "license", "legalnotice", "screen", "code", "synopsis",
              "programlisting", "table", "tr", "td", "thead", "tbody", "tree"}
PARA_TAGS = {"p", "para", "simpara"}
TITLE_TAGS = {"title"}

EN_FUNC = set("""the and of is are you your this that with which will from by an
be have has if when was were there their these those can into should would it
for to on in not or""".split())

URLISH = re.compile(r"https?://|www\.|\S+@\S+\.\w|[/\\]\w+[/\\]|\.\w{2,4}\b(?=\s|$)")


def log(msg):
    print(f"make-bench-corpus: {msg}", file=sys.stderr)


def die(msg):
    log(f"error: {msg}")
    sys.exit(1)


# --------------------------------------------------------------------------
# download / unpack

class Apt:
    def __init__(self, workdir):
        self.workdir = workdir
        self.updated = False
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            die("apt-get and dpkg-deb are required (run on Debian/Ubuntu)")

    def _run(self, args, timeout):
        try:
            return subprocess.run(args, cwd=self.workdir, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            die(f"`{' '.join(args)}` did not finish within {timeout}s")

    def update(self):
        log("running `apt-get update` (once)")
        p = self._run(["apt-get", "update"], UPDATE_TIMEOUT_S)
        if p.returncode != 0:
            die(f"`apt-get update` failed (exit {p.returncode}); are you root?\n{p.stderr.strip()}")
        self.updated = True

    def download(self, pkg, version):
        cached = [f for f in os.listdir(self.workdir)
                  if f.startswith(pkg + "_") and f.endswith(".deb")]
        if len(cached) == 1:  # only with --workdir: reuse an earlier download
            return os.path.join(self.workdir, cached[0])
        attempts = [f"{pkg}={version}", pkg]
        for i in range(2):
            for spec in attempts:
                p = self._run(["apt-get", "download", spec], DOWNLOAD_TIMEOUT_S)
                if p.returncode == 0:
                    if spec == pkg:
                        log(f"warning: {pkg} {version} not available, used candidate version")
                    debs = [f for f in os.listdir(self.workdir)
                            if f.startswith(pkg + "_") and f.endswith(".deb")]
                    if len(debs) != 1:
                        die(f"cannot find the downloaded .deb for {pkg}: {debs}")
                    return os.path.join(self.workdir, debs[0])
                err = p.stderr.strip()
            if self.updated:
                break
            self.update()
        die(f"`apt-get download {pkg}` failed:\n{err}")

    def extract(self, deb, dest):
        p = self._run(["dpkg-deb", "-x", deb, dest], EXTRACT_TIMEOUT_S)
        if p.returncode != 0:
            die(f"`dpkg-deb -x {deb}` failed:\n{p.stderr.strip()}")
        p = self._run(["dpkg-deb", "-f", deb, "Package", "Version"], 60)
        fields = dict(l.split(": ", 1) for l in p.stdout.strip().splitlines())
        return fields.get("Package", "?"), fields.get("Version", "?")


# --------------------------------------------------------------------------
# text extraction

def norm_ws(s):
    return re.sub(r"\s+", " ", s).strip()


def tidy(s):
    """Close the gaps that dropped inline code leaves: "( )", " ." ..."""
    s = re.sub(r"[(\[]\s*[)\]]", " ", s)
    s = re.sub(r"[«“\"‘']\s*[»”\"’']", " ", s)
    s = re.sub(r"\s+([.,)\]])", r"\1", s)  # not ;:!? (French spacing)
    return norm_ws(s)


def local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def inline_text(el):
    out = []

    def rec(e):
        if local(e.tag) in DROP_TAGS:
            out.append(" ")
        else:
            if e.text:
                out.append(e.text)
            for c in e:
                rec(c)
        if e.tail:
            out.append(e.tail)

    if el.text:
        out.append(el.text)
    for c in el:
        rec(c)
    return norm_ws("".join(out))


def page_blocks(path):
    """Yield ('p'|'title', text) in document order for a Mallard/DocBook file."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return []
    out = []

    def walk(e):
        t = local(e.tag)
        if t in BLOCK_SKIP:
            return
        if t in PARA_TAGS:
            # a <p> may contain nested block lists; take the inline text only
            out.append(("p", tidy(inline_text(e))))
            return
        if t in TITLE_TAGS:
            out.append(("title", inline_text(e)))
            return
        for c in e:
            walk(c)

    walk(root)
    return out


def collect_help(help_roots):
    """Return {locale: [(docid, [(kind, text), ...]), ...]} sorted."""
    data = {}
    for hr in help_roots:
        if not os.path.isdir(hr):
            continue
        for loc in sorted(os.listdir(hr)):
            for dirpath, dirnames, filenames in os.walk(os.path.join(hr, loc)):
                dirnames.sort()
                for fn in sorted(filenames):
                    if not (fn.endswith(".page") or fn.endswith(".xml")):
                        continue
                    path = os.path.join(dirpath, fn)
                    if os.path.islink(path):
                        continue
                    blocks = page_blocks(path)
                    if blocks:
                        docid = os.path.relpath(path, os.path.join(hr, loc))
                        data.setdefault(loc, []).append((docid, blocks))
    return data


ROFF_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
ROFF_SPECIAL = {"\\(em": "—", "\\(en": "–", "\\(aq": "'", "\\(dq": '"',
                "\\(Fo": "«", "\\(Fc": "»", "\\(co": "©", "\\(oq": "‘",
                "\\(cq": "’", "\\(lq": "“", "\\(rq": "”", "\\(bu": "•",
                "\\(hy": "-", "\\(mi": "-", "\\(ti": "~"}


def roff_inline(s):
    s = ROFF_FONT.sub("", s)
    for k, v in ROFF_SPECIAL.items():
        s = s.replace(k, v)
    s = s.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    s = s.replace("\\ ", " ").replace("\\~", " ").replace("\\%", "")
    s = re.sub(r"\\\*?\(..|\\\[[^\]]*\]|\\[*nk]\w|\\.", "", s)
    return s


# sections whose paragraphs are prose (translated names included)
MAN_SKIP_SECTIONS_RE = re.compile(
    r"^(SYNOPSIS|OVERSIKT|SE OGSÅ|SEE ALSO|OPPHAVSRETT|COPYRIGHT|FORFATTER|"
    r"AUTHORS?|OVERSETTELSE|TRANSLATION|RAPPORTERE FEIL|REPORTING BUGS|EKSEMPEL|"
    r"EKSEMPLER|EXAMPLES?|FILER|FILES)", re.I)


def man_paragraphs(path):
    """Crude roff -> paragraphs: body text of .PP/.IP/.TP blocks, no tag lines."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    paras, cur = [], []
    section = ""
    skip_next = False  # the tag line after .TP

    def flush():
        if cur:
            paras.append((section, norm_ws(" ".join(cur))))
            cur.clear()

    for line in lines:
        if line.startswith(".\\\"") or line.startswith("'\\\""):
            continue
        if line.startswith(".") or line.startswith("'"):
            req = line[1:].split(None, 1)
            name = req[0] if req else ""
            arg = req[1] if len(req) > 1 else ""
            if name in ("SH", "SS"):
                flush()
                section = roff_inline(arg).strip('"').strip()
            elif name in ("PP", "P", "LP", "IP", "TP", "sp", "RS", "RE", "nf",
                          "fi", "EX", "EE", "TH", "HP", "TQ"):
                flush()
                if name in ("TP", "TQ"):
                    skip_next = True
            elif name in ("B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB"):
                if skip_next:
                    skip_next = False
                    continue
                cur.append(roff_inline(arg.replace('"', "")))
            # other requests (.br, .ad, .UR, ...) are ignored
            continue
        if skip_next:
            skip_next = False
            continue
        cur.append(roff_inline(line))
    flush()
    return [(s, p) for s, p in paras if p and not MAN_SKIP_SECTIONS_RE.match(s)]


def collect_man(man_root):
    docs = []
    for dirpath, dirnames, filenames in os.walk(man_root):
        dirnames.sort()
        for fn in sorted(filenames):
            path = os.path.join(dirpath, fn)
            if fn.endswith(".gz") and not os.path.islink(path):
                blocks = [("p", tidy(p)) for _, p in man_paragraphs(path)]
                if blocks:
                    docs.append((os.path.relpath(path, man_root), blocks))
    return docs


# --------------------------------------------------------------------------
# filtering

def letters(s):
    # letters plus combining marks (Indic/Thai vowel signs are category M*)
    return [c for c in s if unicodedata.category(c)[0] in "LM"]


def is_latin(c):
    return "LATIN" in unicodedata.name(c, "")


def looks_english(text):
    words = re.findall(r"[A-Za-z']+", text.lower())
    if len(words) < 3:
        return False
    return sum(w in EN_FUNC for w in words) / len(words) > 0.2


def clean_ok(lang, text, english_texts):
    """Is this paragraph usable running text in `lang`?"""
    if not text or text in english_texts:
        return False
    if URLISH.search(text) and lang != "en":
        # paths/URLs/e-mail: mostly noise; keep only if the rest is long
        if len(URLISH.sub("", text)) < 200:
            return False
    ls = letters(text)
    nonspace = [c for c in text if not c.isspace()]
    if not ls or len(ls) / len(nonspace) < 0.75:
        return False
    ls = [c for c in ls if unicodedata.category(c)[0] == "L"]
    if not ls:
        return False
    latin = sum(1 for c in ls if is_latin(c))
    if lang in NON_LATIN:
        if latin / len(ls) > 0.25:
            return False
    else:
        if latin / len(ls) < 0.95:
            return False
        if lang != "en" and looks_english(text):
            return False
    return True


def nbytes(s):
    return len(s.encode("utf-8"))


def build_long(lang, docs, english_texts):
    """Join consecutive clean paragraphs of one document into 300-1500 B chunks."""
    seen = set()
    chunks = []
    for docid, blocks in docs:
        cur = []

        def flush():
            if cur:
                t = " ".join(cur)
                if nbytes(t) >= LONG_MIN_BYTES:
                    chunks.append(t)
                cur.clear()

        for kind, text in blocks:
            if kind != "p":
                flush()  # a heading ends the running text
                continue
            if text in seen or not clean_ok(lang, text, english_texts):
                flush()
                continue
            if lang not in NO_SPACES and len(text.split()) < 4:
                continue  # tiny fragments ("Note:") are skipped, not joined
            seen.add(text)
            if nbytes(text) > LONG_MAX_BYTES:
                flush()
                t = text.encode("utf-8")[:LONG_MAX_BYTES].decode("utf-8", "ignore")
                cut = max(t.rfind(". "), t.rfind("。"), t.rfind("। "))
                t = t[: cut + 1] if cut >= LONG_MIN_BYTES else t.rsplit(" ", 1)[0]
                if nbytes(t) >= LONG_MIN_BYTES:
                    chunks.append(t.strip())
                continue
            if cur and nbytes(" ".join(cur + [text])) > LONG_MAX_BYTES:
                flush()
            cur.append(text)
            if nbytes(" ".join(cur)) >= 800:
                flush()
        flush()
    return sorted(set(chunks))


EDGE_PUNCT = "\"'«»“”„‘’()[]{}<>.,;:!?¿¡—–-…、。，：；！？「」『』（）《》·"


def short_candidates(lang, docs, english_texts):
    titles, pieces = set(), set()
    for _docid, blocks in docs:
        for kind, text in blocks:
            if not clean_ok(lang, text, english_texts):
                continue
            if kind == "title":
                t = text.strip(EDGE_PUNCT + " ")
                if not t:
                    continue
                if lang in NO_SPACES:
                    if 2 <= len(t) <= 12:
                        titles.add(t)
                elif 1 <= len(t.split()) <= 5:
                    titles.add(t)
            else:
                pieces.add(text)
    return sorted(titles), sorted(pieces)


def short_from_paragraph(lang, text, rng):
    if lang in NO_SPACES:
        segs = [s.strip(EDGE_PUNCT + " ") for s in
                re.split(r"[、。，,：:；;！!？?「」『』（）()《》\s]+", text)]
        segs = [s for s in segs if 2 <= len(s) <= 12 and not re.search(r"[A-Za-z0-9]", s)]
        return rng.choice(segs) if segs else None
    # stay inside one clause: split at sentence/clause punctuation first
    clauses = [c for c in re.split(r"[.,;:!?()\[\]«»“”\"…—–؛،。]+\s", text + " ") if c.strip()]
    words = [w.strip(EDGE_PUNCT) for w in rng.choice(clauses).split()] if clauses else []
    words = [w for w in words if w and not re.search(r"[0-9_/=<>@#]", w)]
    if not words:
        return None
    n = rng.randint(1, min(5, len(words)))
    i = rng.randrange(0, len(words) - n + 1)
    return " ".join(words[i:i + n])


def build_short(lang, docs, english_texts, rng):
    titles, pieces = short_candidates(lang, docs, english_texts)
    out = set(rng.sample(titles, min(MAX_SHORT_TITLES, len(titles))))
    tries = 0
    while len(out) < N_SHORT and pieces and tries < 20000:
        tries += 1
        s = short_from_paragraph(lang, rng.choice(pieces), rng)
        if s and len(letters(s)) >= 3 and clean_ok(lang, s, english_texts) and (lang == "en" or not looks_english(s + " x x")):
            out.add(s)
    return sorted(out)


# --------------------------------------------------------------------------

def write_ndjson(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for lang, text in rows:
            f.write(json.dumps({"lang": lang, "text": text}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(here), "benches", "data"))
    ap.add_argument("--workdir", help="keep downloads here instead of a temp dir")
    args = ap.parse_args()

    tmp = None
    workdir = args.workdir
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="langid-bench-")
        workdir = tmp
    os.makedirs(workdir, exist_ok=True)
    os.chmod(workdir, 0o755)  # lets apt's _apt user write downloads (no warning)
    try:
        apt = Apt(workdir)
        root = os.path.join(workdir, "root")
        versions = []
        for pkg, ver in HELP_PACKAGES + MAN_PACKAGES:
            deb = apt.download(pkg, ver)
            versions.append(apt.extract(deb, root))
            log(f"unpacked {versions[-1][0]} {versions[-1][1]}")

        help_root = os.path.join(root, "usr", "share", "help")
        data = collect_help([help_root])
        if "C" not in data:
            die(f"no English (C) help pages found under {help_root}")
        english_texts = {t for _d, blocks in data["C"] for _k, t in blocks}

        per_lang_docs = {}
        for loc, docs in data.items():
            if loc in LOCALE_SKIP:
                continue
            lang = LOCALE_MAP.get(loc, loc)
            if lang not in LINGUA:
                continue
            per_lang_docs.setdefault(lang, []).extend(docs)
        nb_root = os.path.join(root, "usr", "share", "man", "nb")
        if os.path.isdir(nb_root):
            per_lang_docs.setdefault("nb", []).extend(collect_man(nb_root))

        long_rows, short_rows, report = [], [], []
        for lang in sorted(per_lang_docs):
            docs = per_lang_docs[lang]
            eng = set() if lang == "en" else english_texts
            rng = random.Random(f"{SEED}-{lang}")
            chunks = build_long(lang, docs, eng)
            if len(chunks) < MIN_LONG:
                log(f"skipping {lang}: only {len(chunks)} long texts")
                continue
            picked = sorted(rng.sample(chunks, min(MAX_LONG, len(chunks))))
            shorts = build_short(lang, docs, eng, rng)
            long_rows += [(lang, t) for t in picked]
            short_rows += [(lang, t) for t in shorts]
            report.append((lang, len(picked), len(shorts), len(chunks)))

        os.makedirs(args.out_dir, exist_ok=True)
        write_ndjson(os.path.join(args.out_dir, "langid-long.ndjson"), long_rows)
        write_ndjson(os.path.join(args.out_dir, "langid-short.ndjson"), short_rows)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"{len(report)} languages, {len(long_rows)} long, {len(short_rows)} short")
    print("lang  long  short  (long candidates)")
    for lang, nl, ns, nc in report:
        print(f"{lang:<5} {nl:>4}  {ns:>5}  ({nc})")
    print("packages:", ", ".join(f"{p} {v}" for p, v in versions))


if __name__ == "__main__":
    main()
