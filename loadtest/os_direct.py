#!/usr/bin/env python3
"""Same-run baseline for loadtest/search-bench.sh on OpenSearch: the cluster queried directly,
one connection, with a search body of the shape Glossa sends (the query's language field,
boosted 2, and the generic field; exact total, language aggregation, sort by score then id
hash, highlights, 10 hits), for the same `given` queries. Prints one table row: what any client
pays over the cluster's `took` (its HTTP layer, request parsing, response serialization,
loopback), so Glossa's own share of its overhead can be read off beside it.

    python3 loadtest/os_direct.py URL INDEX QUERIES_FILE SECONDS
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def main():
    url, index, queries_file, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 9200, timeout=30)
    conn.request("GET", f"/{index}/_mapping")
    mapping = json.loads(conn.getresponse().read())
    fields_known = set(next(iter(mapping.values()))["mappings"]["properties"])
    queries = [dict(urllib.parse.parse_qsl(line.strip())) for line in open(queries_file) if line.strip()]
    latency, took, errors = [], [], 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        q = queries[i % len(queries)]
        i += 1
        lang_field = f"text_{q.get('lang', '')}"
        fields = [lang_field, "text"] if lang_field in fields_known else ["text"]
        body = {
            "size": 10,
            "track_total_hits": True,
            "query": {"bool": {"must": [{"multi_match": {
                "query": q["q"], "type": "most_fields",
                "fields": [f"{f}^2" if f != "text" else f for f in fields]}}], "filter": []}},
            "sort": [{"_score": "desc"}, {"id_hash": "desc"}],
            "aggs": {"languages": {"terms": {"field": "lang", "size": 200}}},
            "highlight": {"fields": {f: {} for f in fields}, "pre_tags": ["<b>"], "post_tags": ["</b>"],
                          "encoder": "html", "fragment_size": 200, "number_of_fragments": 3,
                          "require_field_match": False, "max_analyzer_offset": 500000},
        }
        data = json.dumps(body)
        started = time.perf_counter()
        conn.request("POST", f"/{index}/_search", body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            errors += 1
            continue
        latency.append(elapsed)
        took.append(json.loads(raw)["took"])
    latency.sort()
    p50, p99 = statistics.median(latency), latency[int(len(latency) * 0.99)]
    rate = len(latency) / seconds
    print(f"| direct to OpenSearch | given | 1 | {rate:.0f} | {p50:.2f} | {p99:.2f} | "
          f"{statistics.median(took):.2f} | {p50 - statistics.median(took):.2f} (client's own) | - | {errors} |")


if __name__ == "__main__":
    main()
