#!/usr/bin/env python3
"""Scale curve of the embedded index: ingest real multilingual text (loadtest/real_corpus.py)
into one index in cumulative stages (by default to 1M, 5M and 10M documents), and after each
stage measure search latency on it. Run by loadtest/scale-bench.sh, which builds the binary.

Per stage, `glossa ingest` of the stage's new records (a fresh process, the index kept):
- records/s and CPU seconds per 100,000 records (from /usr/bin/time);
- every --interval seconds: the input's read position (records/s over time, from the bytes the
  process has read and the slice's mean record size), resident memory (VmRSS, split into
  anonymous memory and mapped files: Tantivy reads segments through mmap, whose pages the
  kernel can drop; anonymous memory is what the process holds), index bytes on disk and the
  number of segments (merges show as the count falling);
- at the end: index bytes per document and segments;
- with --memory-limit, the stage runs inside a memory cgroup of that size, as in a container
  with that limit: the kernel then reclaims the file pages (mapped segments and models, page
  cache) the process would otherwise keep, and kills it if what it holds itself does not fit.
  The stage records the cgroup's peak charge, how often it hit the limit, and OOM kills.
Then `glossa serve` on the index and --queries searches, one at a time over one keep-alive
connection, each a real title (a package's short description) of the corpus, language
detected: client p50/p99 and the backend's own `backend_took_ms`.

Writes DIR/timeline.tsv and DIR/stages.tsv and prints a Markdown summary.
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent


def status_kb(pid):
    """VmRSS, RssAnon, RssFile and VmHWM of `pid` in kB (zeros once it has exited)."""
    fields = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in fields:
                    fields[key] = int(value.split()[0])
    except OSError:
        pass
    return fields


def read_position(pid, path):
    """Bytes of `path` that `pid` has read so far, or None."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                        for line in f:
                            if line.startswith("pos:"):
                                return int(line.split()[1])
            except OSError:
                continue
    except OSError:
        pass
    return None


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def index_dir(data):
    """The Tantivy index directory under a data directory (the one holding meta.json)."""
    for root, _, files in os.walk(data):
        if "meta.json" in files:
            return root
    return None


def segments(data):
    where = index_dir(data)
    if where is None:
        return 0
    try:
        with open(os.path.join(where, "meta.json")) as f:
            return len(json.load(f).get("segments", []))
    except (OSError, ValueError):
        return 0


def backend_args(args):
    """The glossa flags of the backend under test: embedded (none) or the cluster's index."""
    if not args.opensearch:
        return []
    return ["--backend", "opensearch", "--opensearch-urls", args.opensearch,
            "--opensearch-index", args.opensearch_index]


def opensearch_get(args, path):
    url = urllib.parse.urlparse(args.opensearch.split(",")[0])
    conn = http.client.HTTPConnection(url.hostname, url.port or 9200, timeout=60)
    conn.request("GET", path)
    response = conn.getresponse()
    return json.loads(response.read())


def index_bytes(args):
    """Bytes of the index: the data directory's, or on OpenSearch the primaries' store."""
    if not args.opensearch:
        return dir_bytes(args.data)
    stats = opensearch_get(args, f"/{args.opensearch_index}/_stats/store")
    return stats["_all"]["primaries"]["store"]["size_in_bytes"]


def index_segments(args):
    if not args.opensearch:
        return segments(args.data)
    stats = opensearch_get(args, f"/{args.opensearch_index}/_stats/segments")
    return stats["_all"]["primaries"]["segments"]["count"]


class MemoryCgroup:
    """A cgroup (v1 memory controller, or v2) with a hard memory limit that the ingest stages
    run in: what a container with that much memory gives the process."""

    def __init__(self, limit_bytes):
        v1 = Path("/sys/fs/cgroup/memory")
        if v1.is_dir():
            self.path, self.v2 = v1 / f"glossa-scale-{os.getpid()}", False
        else:
            self.path, self.v2 = Path("/sys/fs/cgroup") / f"glossa-scale-{os.getpid()}", True
        try:
            self.path.mkdir()
            self._write("memory.max" if self.v2 else "memory.limit_in_bytes", str(limit_bytes))
        except OSError as e:
            sys.exit(f"error: cannot make a memory cgroup at {self.path} ({e}); "
                     "--memory-limit needs root and a memory controller")

    def _write(self, name, value):
        (self.path / name).write_text(value)

    def _read(self, name):
        return (self.path / name).read_text()

    def enter(self):
        """Moves the calling process (a child before exec) into the cgroup."""
        self._write("cgroup.procs", str(os.getpid()))

    def reset_peak(self):
        """Starts a stage's figures afresh, and empties the page cache so that the pages the
        stage reads (the binary's language models, its input, the index) are charged to the
        cgroup, as in a new container, not to whoever read them first."""
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3")
        if not self.v2:
            self._write("memory.max_usage_in_bytes", "0")
            self._write("memory.failcnt", "0")

    def usage(self):
        """The cgroup's charge now: process memory plus the page cache it brought in."""
        return int(self._read("memory.current" if self.v2 else "memory.usage_in_bytes"))

    def stage_figures(self):
        """Peak charge (MB; v2 kernels before 5.19 have none, so None), times the limit was hit,
        and OOM kills."""
        if self.v2:
            events = dict(line.split() for line in self._read("memory.events").splitlines())
            peak = self.path / "memory.peak"
            return {"cgroup_peak_mb": round(int(peak.read_text()) / 2**20) if peak.exists() else None,
                    "limit_hits": int(events.get("max", 0)), "oom_kills": int(events.get("oom_kill", 0))}
        oom = dict(line.split() for line in self._read("memory.oom_control").splitlines())
        return {"cgroup_peak_mb": round(int(self._read("memory.max_usage_in_bytes")) / 2**20),
                "limit_hits": int(self._read("memory.failcnt")),
                "oom_kills": int(oom.get("oom_kill", 0))}

    def remove(self):
        try:
            self.path.rmdir()
        except OSError:
            pass


def child_of(pid):
    """The first child of `pid` (glossa under /usr/bin/time), waiting up to 10 s for it."""
    for _ in range(100):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            return None
        time.sleep(0.1)
    return None


def ingest(args, stage, slice_path, records, timeline):
    """Runs one stage's ingest while sampling it; returns the stage's row."""
    time_out = os.path.join(args.dir, "stage.time")
    log = open(os.path.join(args.dir, f"ingest-{stage}.log"), "w")
    cmd = ["/usr/bin/time", "-f", "cpu_seconds=%U+%S peak_rss_kb=%M", "-o", time_out,
           args.bin, "--data-dir", args.data, *backend_args(args), "ingest", slice_path]
    if args.cgroup:
        args.cgroup.reset_peak()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                            env={**os.environ, "RUST_LOG": "info"},
                            preexec_fn=args.cgroup.enter if args.cgroup else None)
    pid = child_of(proc.pid)
    mean = os.path.getsize(slice_path) / max(records, 1)
    last_pos, last_t = 0, started
    peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    while True:
        try:
            proc.wait(timeout=args.interval)
            break
        except subprocess.TimeoutExpired:
            pass
        if pid is None:
            continue
        now = time.monotonic()
        st = status_kb(pid)
        for k in peak:
            peak[k] = max(peak[k], st[k])
        pos = read_position(pid, slice_path)
        rate = None
        if pos is not None:
            rate = (pos - last_pos) / mean / (now - last_t)
            last_pos, last_t = pos, now
        timeline.write("\t".join(str(x) for x in (
            stage, round(now - started, 1), args.before + int((pos or 0) / mean),
            round(rate) if rate is not None else "", st["VmRSS"], st["RssAnon"], st["RssFile"],
            index_bytes(args), index_segments(args),
            args.cgroup.usage() // 1024 if args.cgroup else "")) + "\n")
        timeline.flush()
    out, _ = proc.communicate()
    wall = time.monotonic() - started
    log.close()
    limited = args.cgroup.stage_figures() if args.cgroup else {}
    if proc.returncode != 0:
        sys.exit(f"error: ingest of stage {stage} failed ({proc.returncode}; {limited}); "
                 f"see {log.name}")
    with open(time_out) as f:
        usage = dict(kv.split("=") for kv in f.read().split() if "=" in kv)
    cpu = sum(float(x) for x in usage["cpu_seconds"].split("+"))
    summary = out.splitlines()[0] if out else ""
    print(f"stage {stage}: {summary}", file=sys.stderr)
    own = re.search(r"\((\d+) records/s", summary)
    return {
        "records": records, "wall_s": round(wall, 1), "wall_rate": round(records / wall),
        "rate": int(own.group(1)) if own else round(records / wall),
        "cpu_per_100k": round(cpu / records * 100_000, 1),
        "peak_rss_mb": round(int(usage["peak_rss_kb"]) / 1024),
        "peak_anon_mb": round(peak["RssAnon"] / 1024), "peak_file_mb": round(peak["RssFile"] / 1024),
        **limited,
    }


def wait_ready(args, server, log_path):
    """Waits up to 120 s for `glossa serve` on --port to answer /readyz with 200."""
    deadline = time.monotonic() + 120
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            sys.exit(f"error: glossa serve did not get ready in 120 s; see {log_path}")
        time.sleep(0.5)


def serve_compacting(args, binary, idle, log_path, cgroup=None):
    """`glossa serve` of the index in --dir that compacts it after `idle` s without writes,
    logging at info level to `log_path` (inside `cgroup` if given): (process, open log)."""
    config = os.path.join(args.dir, "idle-compact.toml")
    with open(config, "w") as f:
        f.write(f"[pipeline]\ncompact_idle_seconds = {idle}\n")
    log = open(log_path, "w")
    server = subprocess.Popen([binary, "--data-dir", args.data, "--config", config, "serve",
                               "--listen", f"127.0.0.1:{args.port}"], stdout=log, stderr=log,
                              env={**os.environ, "RUST_LOG": "info", "NO_COLOR": "1"},
                              preexec_fn=cgroup.enter if cgroup else None)
    return server, log


def idle_compaction(args, binary):
    """Serves the index in --dir with `binary` until its idle-time compaction (after 5 s
    without writes) has finished, sampling the server's memory; returns the compaction's
    figures (segments before and after, seconds) and the server's peak memory meanwhile."""
    log_path = os.path.join(args.dir, "idle-compact.log")
    cgroup = MemoryCgroup(args.memory_limit * 2**20) if args.memory_limit else None
    if cgroup:
        cgroup.reset_peak()
    server, log = serve_compacting(args, binary, 5, log_path, cgroup)
    peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    try:
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline and server.poll() is None:
            st = status_kb(server.pid)
            for k in peak:
                peak[k] = max(peak[k], st[k])
            text = Path(log_path).read_text()
            done = re.search(r"index compacted.*?before\W+(\d+).*?after\W+(\d+).*?seconds\W+([\d.]+)",
                             text)
            if done:
                return {"segments_before": int(done.group(1)), "segments_after": int(done.group(2)),
                        "compaction_s": round(float(done.group(3)), 1),
                        "peak_rss_mb": round(peak["VmRSS"] / 1024),
                        "peak_anon_mb": round(peak["RssAnon"] / 1024),
                        "peak_file_mb": round(peak["RssFile"] / 1024),
                        **(cgroup.stage_figures() if cgroup else {})}
            if "did not complete" in text:
                sys.exit(f"error: the idle compaction failed; see {log_path}")
            time.sleep(1)
        sys.exit(f"error: no idle compaction finished; see {log_path}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        log.close()
        if cgroup:
            cgroup.remove()


def search_during_compaction(args, binary, titles, idle=60):
    """Serves the index in --dir with `binary` and searches `titles` in turn, one at a time,
    before, during and after its idle-time compaction (which starts after `idle` s without
    writes); p50/p99 of each phase, told apart by the server's log lines."""
    log_path = os.path.join(args.dir, "during-compaction.log")
    server, log = serve_compacting(args, binary, idle, log_path)
    phases = {"before": [], "during": [], "after": []}
    try:
        wait_ready(args, server, log_path)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        reader = open(log_path)
        phase, seen, i = "before", "", 0
        stop = time.monotonic() + 3600
        while len(phases["after"]) < 2000 and time.monotonic() < stop:
            seen += reader.read()
            if "index compacted" in seen:
                phase = "after"
            elif "compacting the index" in seen:
                phase = "during"
            if "did not complete" in seen:
                sys.exit(f"error: the idle compaction failed; see {log_path}")
            title = titles[i % len(titles)]
            i += 1
            t = time.perf_counter()
            conn.request("GET", "/v1/search?" + urllib.parse.urlencode({"q": title, "size": 10}))
            response = conn.getresponse()
            response.read()
            if response.status == 200 and i > 20:
                phases[phase].append((time.perf_counter() - t) * 1000)
        q = lambda xs, p: round(statistics.quantiles(xs, n=100)[p - 1], 2) if len(xs) > 1 else None
        return {name: {"searches": len(xs), "p50_ms": round(statistics.median(xs), 2) if xs else None,
                       "p99_ms": q(xs, 99)} for name, xs in phases.items()}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        log.close()


def search_latency(args, titles, binary=None, facets=False, warmup=()):
    """p50/p99 (ms) of client latency and backend_took_ms over `titles`, one at a time, after
    searching `warmup` (other titles, not counted: a server that has run a while, its caches of
    query words warm, and no answer to the measured titles cached)."""
    log = open(os.path.join(args.dir, "serve.log"), "w")
    server = subprocess.Popen([binary or args.bin, "--data-dir", args.data, *backend_args(args),
                               "serve", "--listen",
                               f"127.0.0.1:{args.port}"], stdout=log, stderr=log,
                              env={**os.environ, "RUST_LOG": "warn"})
    try:
        wait_ready(args, server, log.name)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        for title in warmup:
            conn.request("GET", "/v1/search?" + urllib.parse.urlencode({"q": title, "size": 10}))
            conn.getresponse().read()
        client, backend, errors = [], [], 0
        for i, title in enumerate(titles):
            params = {"q": title, "size": 10, **({"facets": "true"} if facets else {}),
                      **{f"filter.{k}": v for k, v in args.filters}}
            path = "/v1/search?" + urllib.parse.urlencode(params)
            t = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - t) * 1000
            if response.status != 200:
                errors += 1
                continue
            if i >= 20:  # the first searches warm caches and the query-language prior
                client.append(elapsed)
                backend.append(json.loads(body).get("backend_took_ms", 0.0))
        if not client:
            return {"errors": errors}  # e.g. an older build that does not know `facets`
        q = lambda xs, p: statistics.quantiles(xs, n=100)[p - 1] if len(xs) > 1 else float("nan")
        return {"p50_ms": round(statistics.median(client), 2), "p99_ms": round(q(client, 99), 2),
                "backend_p50_ms": round(statistics.median(backend), 2), "errors": errors}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--dir", required=True, help="work directory (index, slices, results)")
    parser.add_argument("--sizes", default="1000000,5000000,10000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18091)
    parser.add_argument("--opensearch", metavar="URLS",
                        help="ingest into and search this OpenSearch cluster instead of the "
                             "embedded index (bytes are the primaries' store)")
    parser.add_argument("--opensearch-index", default="glossa-scale")
    parser.add_argument("--search-only", metavar="BIN,BIN,...",
                        help="no ingest: search the index already in --dir with each binary in "
                             "turn, twice over, plainly and with facets=true (compares builds)")
    parser.add_argument("--warm", type=int, default=0, metavar="N",
                        help="before each measurement, search N other titles (not counted): a "
                             "server that has run a while rather than a fresh one")
    parser.add_argument("--filter", metavar="FIELD=VALUE", action="append", default=[],
                        help="search with this filter too (filter.FIELD=VALUE; repeatable), as a "
                             "tenant-scoped key's searches are filtered")
    parser.add_argument("--idle-compact", metavar="BIN",
                        help="no ingest: serve the index in --dir with BIN until its idle-time "
                             "compaction has run, and report it (segments, seconds, memory; with "
                             "--memory-limit, the server runs in that cgroup)")
    parser.add_argument("--during-compaction", metavar="BIN",
                        help="no ingest: serve the index in --dir with BIN and search --queries "
                             "titles one after the other (give more than will be searched: a "
                             "title searched again is answered faster) before, during and after "
                             "its idle-time compaction (60 s without writes), until 2,000 after "
                             "it; p50/p99 of each phase")
    parser.add_argument("--memory-limit", metavar="MB", type=int,
                        help="run each ingest stage (or --idle-compact's server) inside a memory "
                             "cgroup of MB megabytes (needs root): does it fit a container of that "
                             "size, and at what rate")
    args = parser.parse_args()
    args.filters = [f.split("=", 1) for f in args.filter]
    sizes = [int(s) for s in args.sizes.split(",")]
    args.data = os.path.join(args.dir, "data")
    os.makedirs(args.dir, exist_ok=True)

    # Queries: real titles, a fixed sample of the first pass over the corpus.
    pool = subprocess.run([sys.executable, str(HERE / "real_corpus.py"), "--count", "246000",
                           "--out", "-"], capture_output=True, text=True, check=True).stdout
    titles = [json.loads(line)["title"] for line in pool.splitlines()]
    picked = random.Random(5).sample(titles, args.queries + 20 + args.warm)
    titles = [t for t in picked[:args.queries + 20] if t]
    warmup = [t for t in picked[args.queries + 20:] if t]

    if args.idle_compact:
        print(json.dumps(idle_compaction(args, args.idle_compact)))
        return
    if args.during_compaction:
        print(json.dumps(search_during_compaction(args, args.during_compaction, titles)))
        return
    if args.search_only:
        for round_ in (1, 2):
            for binary in args.search_only.split(","):
                for facets in (False, True):
                    row = search_latency(args, titles, binary, facets, warmup)
                    print(json.dumps({"round": round_, "bin": binary, "facets": facets, **row}))
        return

    args.cgroup = MemoryCgroup(args.memory_limit * 2**20) if args.memory_limit else None
    try:
        run_stages(args, sizes, titles, warmup)
    finally:
        if args.cgroup:
            args.cgroup.remove()


def run_stages(args, sizes, titles, warmup):
    timeline = open(os.path.join(args.dir, "timeline.tsv"), "w")
    timeline.write("stage\telapsed_s\tdocuments\trecords_per_s\trss_kb\trss_anon_kb\trss_file_kb"
                   "\tindex_bytes\tsegments\tcgroup_kb\n")
    rows, before = [], 0
    for stage, size in enumerate(sizes, 1):
        slice_path = os.path.join(args.dir, "slice.ndjson")
        subprocess.run([sys.executable, str(HERE / "real_corpus.py"), "--skip", str(before),
                        "--count", str(size - before), "--out", slice_path], check=True)
        args.before = before
        row = ingest(args, stage, slice_path, size - before, timeline)
        os.remove(slice_path)
        row["documents"] = size
        index = index_bytes(args)
        row["index_mb"] = round(index / 2**20)
        row["bytes_per_doc"] = round(index / size)
        row["segments"] = index_segments(args)
        row.update(search_latency(args, titles, warmup=warmup))
        rows.append(row)
        before = size
        print(json.dumps(row), file=sys.stderr)
    timeline.close()
    keys = ["documents", "records", "rate", "wall_rate", "cpu_per_100k", "peak_rss_mb", "peak_anon_mb",
            "peak_file_mb", "index_mb", "bytes_per_doc", "segments", "p50_ms", "p99_ms",
            "backend_p50_ms", "errors"]
    if args.cgroup:
        keys += ["cgroup_peak_mb", "limit_hits", "oom_kills"]
    with open(os.path.join(args.dir, "stages.tsv"), "w") as f:
        f.write("\t".join(keys) + "\n")
        for row in rows:
            f.write("\t".join(str(row[k]) for k in keys) + "\n")
    print("| documents | stage records | records/s (wall) | CPU-s per 100k | peak RSS MB (anon, file) "
          "| index MB | bytes/doc | segments | search p50 ms | p99 ms | backend p50 ms | errors |")
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['documents']:,} | {r['records']:,} | {r['rate']:,} ({r['wall_rate']:,}) | {r['cpu_per_100k']} "
              f"| {r['peak_rss_mb']} ({r['peak_anon_mb']}, {r['peak_file_mb']}) | {r['index_mb']:,} "
              f"| {r['bytes_per_doc']} | {r['segments']} | {r['p50_ms']} | {r['p99_ms']} "
              f"| {r['backend_p50_ms']} | {r['errors']} |")
    if args.cgroup:
        print(f"\nIngest in a {args.memory_limit} MB memory cgroup; per stage its peak charge MB, "
              "times it hit the limit, OOM kills:")
        for r in rows:
            print(f"- {r['documents']:,}: {r['cgroup_peak_mb']}, {r['limit_hits']:,}, {r['oom_kills']}")
    if len(rows) > 1:
        print(f"\nrate of the last stage / rate of the first: {rows[-1]['rate'] / rows[0]['rate']:.2f}")


if __name__ == "__main__":
    main()
