#!/usr/bin/env python3
"""The cluster's own bulk ceiling, for loadtest/opensearch-bench.sh.

Turns a hinted corpus (gen_corpus.py --with-lang-hints) into the exact documents Glossa would
index (same fields, same mapping: text under text_<lang>, text_names, meta, source), pre-built
into `_bulk` bodies of about --bulk-bytes, then posts them to a fresh index at each concurrency
of --concurrency and prints documents/s per level and the best one. No detection, no Glossa:
what the cluster takes when the client costs nothing.

    python3 loadtest/bulk_ceiling.py --url http://127.0.0.1:9200 --corpus hinted.ndjson \\
        --mapping mappings/glossa-index.json --concurrency 1,2,4,8
"""
import argparse
import concurrent.futures
import json
import time
import urllib.error
import urllib.request

TEXT_FIELDS = ("title", "body")


def request(method, url, body=None, content_type="application/json", timeout=300):
    req = urllib.request.Request(url, data=body, method=method, headers={"content-type": content_type})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def documents(corpus, fields):
    for line in open(corpus, encoding="utf-8"):
        record = json.loads(line)
        lang = record.get("lang", "und")
        texts = [record[f] for f in TEXT_FIELDS if isinstance(record.get(f), str)]
        names = [f for f in TEXT_FIELDS if isinstance(record.get(f), str)]
        meta = {k: v for k, v in record.items() if k not in ("id", "lang") + TEXT_FIELDS}
        source = {k: v for k, v in record.items() if k not in TEXT_FIELDS}
        field = f"text_{lang}" if f"text_{lang}" in fields else "text"
        doc = {"id": record["id"], "id_hash": hash(record["id"]) & 0x7FFFFFFFFFFFFFFF, "lang": lang,
               "lang_confidence": 1.0, "lang_method": "given", field: texts, "text_names": names,
               "meta": meta, "source": source, "ingested_at": "2026-01-01T00:00:00Z"}
        yield record["id"], json.dumps(doc, ensure_ascii=False)


def bodies(corpus, fields, index, bulk_bytes):
    out, size, count = [], 0, 0
    for doc_id, doc in documents(corpus, fields):
        lines = json.dumps({"index": {"_index": index, "_id": doc_id}}) + "\n" + doc + "\n"
        out.append(lines)
        size += len(lines.encode("utf-8"))
        count += 1
        if size >= bulk_bytes:
            yield "".join(out).encode("utf-8"), count
            out, size, count = [], 0, 0
    if out:
        yield "".join(out).encode("utf-8"), count


def post(url, body):
    # Retry whole requests on 429 and items on 429 until they land, like any sane client.
    while True:
        try:
            answer = request("POST", f"{url}/_bulk?filter_path=errors,items.*.status", body, "application/x-ndjson")
        except urllib.error.HTTPError as e:
            if e.code == 429:
                time.sleep(0.5)
                continue
            raise
        if not answer.get("errors"):
            return
        lines = body.decode("utf-8").split("\n")
        retry = []
        for i, item in enumerate(answer["items"]):
            status = next(iter(item.values()))["status"]
            if status == 429:
                retry += lines[2 * i:2 * i + 2]
            elif status >= 300:
                raise RuntimeError(f"item failed with {status}")
        if not retry:
            return
        time.sleep(0.5)
        body = ("\n".join(retry) + "\n").encode("utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--mapping", required=True)
    ap.add_argument("--concurrency", default="1,2,4,8")
    ap.add_argument("--bulk-bytes", type=int, default=10 * 1024 * 1024)
    args = ap.parse_args()
    mapping = json.load(open(args.mapping, encoding="utf-8"))
    fields = set(mapping["mappings"]["properties"])
    # The settings of Glossa's bulk-load mode: refresh off, no replicas.
    mapping["settings"]["index"].update({"number_of_replicas": 0, "refresh_interval": "-1"})
    prepared = list(bodies(args.corpus, fields, "INDEX", args.bulk_bytes))
    total = sum(c for _, c in prepared)
    best = 0.0
    for level in [int(c) for c in args.concurrency.split(",")]:
        index = f"ceiling-{level}-{int(time.time())}"
        request("PUT", f"{args.url}/{index}", json.dumps(mapping).encode("utf-8"))
        payloads = [b.replace(b'"_index": "INDEX"', f'"_index": "{index}"'.encode()) for b, _ in prepared]
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=level) as pool:
            list(pool.map(lambda b: post(args.url, b), payloads))
        elapsed = time.monotonic() - started
        request("POST", f"{args.url}/{index}/_refresh")
        count = request("GET", f"{args.url}/{index}/_count")["count"]
        rate = total / elapsed
        best = max(best, rate)
        print(f"ceiling concurrency={level}: {total} docs in {elapsed:.1f}s = {rate:.0f} docs/s (count {count})", flush=True)
        request("DELETE", f"{args.url}/{index}")
    print(f"ceiling best: {best:.0f} docs/s")


if __name__ == "__main__":
    main()
