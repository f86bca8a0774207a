#!/usr/bin/env python3
"""Load generator for Glossa: varied multilingual NDJSON records into Kafka, S3, HTTP or a file.

Every record is built from a random line of a corpus (NDJSON, one object per line with a text
field): a random contiguous slice of its sentences or words, sometimes followed by a second
slice from a record of the same language, so bodies vary from about 100 B to a few KB. Each
record gets `seq`, `source` = "loadgen", `ts` (RFC 3339, UTC), `tenant` and, unless --no-ids,
`id` = <run-id>-<seq>. --poison-every N makes every Nth record malformed (in turn: not JSON,
JSON without any text field, invalid UTF-8) for dead-letter tests.

Targets (--to URL, or the URL as the only positional argument):
  kafka://HOST:PORT[,HOST:PORT...]/TOPIC   produce, key = <run-id>-<seq>, acks counted
  s3://BUCKET[/PREFIX]                     objects PREFIX/part-000001.ndjson[.gz]
  http://HOST:PORT[/PATH]                  POST NDJSON batches to /v1/documents (default path)
  file:PATH  or  -                         NDJSON to a file or to stdout

    python3 loadtest/loadgen.py --to - --count 5 --seed 3
    python3 loadtest/loadgen.py --to http://127.0.0.1:8080 --count 20000 --rate 2000
    VENV/bin/python loadtest/loadgen.py --to kafka://127.0.0.1:9092/docs --count 100000
    VENV/bin/python loadtest/loadgen.py --to s3://bucket/in --count 50000 --gzip-ratio 0.5

At the end one JSON line (the report) goes to stdout (to stderr when the target is stdout);
progress lines go to stderr every --progress seconds. Exit status 0 when no record failed,
1 when some did, 2 on a usage or setup error. kafka:// needs kafka-python and s3:// needs
boto3 (pinned in loadtest/requirements-loadgen.txt); file and http need only the standard
library.
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import json
import math
import os
import queue
import random
import re
import secrets
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "data" / "sample" / "udhr.ndjson"
DEFAULT_TENANTS = "acme,globex,initech,umbrella,hooli"
# Fields that carry the language of a corpus record, tried in this order, to group records
# for the second slice ("same language"). Without any, the second slice comes from the same record.
LANG_FIELDS = ("lang", "language", "edition_code")
# A sentence ends after terminal punctuation (Latin, Arabic, Greek question mark, Devanagari
# danda, CJK full stops, Khmer khan), optionally followed by closing quotes, then whitespace.
SENTENCE_END = re.compile(r"(?<=[.!?\u037e\u0964\u3002\uff01\uff1f\u061f\u17d4])[\"'\u00bb\u201d\u2019\u300d\u300f)]*\s+|(?<=[\u3002\uff01\uff1f])|\n+")
WORD = re.compile(r"\S+\s*")
CHUNK_CHARS = 24  # unit size for text without spaces or sentence marks


class SetupError(Exception):
    """A problem found before sending (bad URL, missing topic, unreachable endpoint)."""


# --- corpus and record generation --------------------------------------------------------


class Corpus:
    """Corpus lines, grouped by language, with their text split into units on first use."""

    def __init__(self, path: str, text_field: str, lang_field: str | None):
        self.text_field = text_field
        self.records: list[dict] = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise SetupError(f"{path}:{n}: not JSON ({e})") from None
                if isinstance(obj, dict) and isinstance(obj.get(text_field), str) and obj[text_field].strip():
                    self.records.append(obj)
        if not self.records:
            raise SetupError(f"{path}: no line has a non-empty string field {text_field!r}")
        if lang_field is None:
            lang_field = next((f for f in LANG_FIELDS if f in self.records[0]), None)
        self.lang_field = lang_field
        self.by_lang: dict[str, list[int]] = {}
        for i, r in enumerate(self.records):
            lang = str(r.get(lang_field)) if lang_field and lang_field in r else f"#{i}"
            self.by_lang.setdefault(lang, []).append(i)
        self.lang_of = [
            str(r.get(lang_field)) if lang_field and lang_field in r else f"#{i}"
            for i, r in enumerate(self.records)
        ]
        self._units: dict[tuple[int, str], tuple[list[str], list[int]]] = {}

    def units(self, index: int, kind: str) -> tuple[list[str], list[int]]:
        """The text of record `index` as sentence or word units, with their UTF-8 sizes."""
        key = (index, kind)
        cached = self._units.get(key)
        if cached is None:
            text = self.records[index][self.text_field].strip()
            if kind == "sentences":
                parts = _split_keep(SENTENCE_END, text)
            else:
                parts = WORD.findall(text)
                if len(parts) < 4:  # unspaced script: fixed-size character chunks
                    parts = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
            parts = [p for p in parts if p.strip()] or [text]
            cached = (parts, [len(p.encode("utf-8")) for p in parts])
            self._units[key] = cached
        return cached


def _split_keep(pattern: re.Pattern, text: str) -> list[str]:
    """Splits after each match, keeping the matched separator at the end of its piece."""
    out, start = [], 0
    for m in pattern.finditer(text):
        if m.end() > start:
            out.append(text[start : m.end()])
            start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _truncate_utf8(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut at a space when one is near the end."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    cut = raw[:limit].decode("utf-8", errors="ignore")
    space = cut.rfind(" ")
    if space > len(cut) * 0.8:
        cut = cut[:space]
    return cut


class Generator:
    """Builds record bytes (without the trailing newline) from a seeded RNG."""

    def __init__(self, corpus: Corpus, args: argparse.Namespace, run_id: str):
        self.c = corpus
        self.rng = random.Random(args.seed)
        self.run_id = run_id
        self.ids = not args.no_ids
        self.min_bytes = args.min_bytes
        self.max_bytes = args.max_bytes
        self.concat_prob = args.concat_prob
        self.tenants = [t for t in args.tenants.split(",") if t]
        self.keep_fields = [f for f in (args.keep_fields or "").split(",") if f]
        self.poison_every = args.poison_every
        self.poison_made = 0
        self.text_field = corpus.text_field

    def key(self, seq: int) -> str:
        return f"{self.run_id}-{seq}"

    def _slice(self, index: int, target: int) -> tuple[str, bool]:
        """A contiguous run of units of about `target` bytes; (text, whether it is the whole text)."""
        rng = self.rng
        units, sizes = self.c.units(index, "sentences")
        if len(units) < 3 or rng.random() < 0.3:
            units, sizes = self.c.units(index, "words")
        start = rng.randrange(len(units))
        # Start early enough that the slice can reach the target before the text ends.
        total_after, s = 0, len(units)
        while s > 0 and total_after < target:
            s -= 1
            total_after += sizes[s]
        start = min(start, s)
        end, size = start, 0
        while end < len(units) and size < target:
            size += sizes[end]
            end += 1
        return "".join(units[start:end]).strip(), start == 0 and end == len(units)

    def _body(self, index: int) -> str:
        rng = self.rng
        target = int(math.exp(rng.uniform(math.log(self.min_bytes), math.log(self.max_bytes))))
        body, whole = self._slice(index, target)
        size = len(body.encode("utf-8"))
        # A whole record is always extended, so that no two bodies are one corpus text verbatim.
        if whole or size < self.min_bytes or (size < target and rng.random() < self.concat_prob):
            same_lang = self.c.by_lang[self.c.lang_of[index]]
            other = rng.choice(same_lang)
            extra, _ = self._slice(other, max(target - size, self.min_bytes - size, 1))
            if extra:
                body = f"{body}\n\n{extra}" if body else extra
        return _truncate_utf8(body, self.max_bytes)

    def make(self, n: int, seq: int) -> tuple[bytes, bool]:
        """Record number n (1-based within the run) with sequence number seq; (bytes, poisoned)."""
        rng = self.rng
        index = rng.randrange(len(self.c.records))
        base = self.c.records[index]
        rec: dict = {}
        if self.ids:
            rec["id"] = self.key(seq)
        title = base.get("title")
        if isinstance(title, str) and title and rng.random() < 0.85:
            rec["title"] = title
        rec[self.text_field] = self._body(index)
        rec["seq"] = seq
        rec["source"] = "loadgen"
        rec["ts"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        rec["tenant"] = rng.choice(self.tenants)
        for f in self.keep_fields:
            if f in base:
                rec[f] = base[f]
        if self.poison_every and n % self.poison_every == 0:
            kind = self.poison_made % 3
            self.poison_made += 1
            return self._poison(rec, kind), True
        return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), False

    def _poison(self, rec: dict, kind: int) -> bytes:
        if kind == 0:  # not JSON: a record cut off in the middle of its text
            whole = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
            cut = whole.find(f'"{self.text_field}":')
            return (whole[: cut + len(self.text_field) + 4] + " (not JSON: cut here").encode("utf-8")
        if kind == 1:  # valid JSON object without any text field
            bad = {k: v for k, v in rec.items() if k not in (self.text_field, "title")}
            bad["poison"] = "no_text_field"
            return json.dumps(bad, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        # invalid UTF-8 inside the text string of an otherwise valid JSON line
        bad = dict(rec)
        bad["poison"] = "invalid_utf8"
        bad[self.text_field] = "@@BADBYTES@@"
        line = json.dumps(bad, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        tail = json.dumps(rec[self.text_field][:40], ensure_ascii=False)[1:-1].encode("utf-8")
        return line.replace(b"@@BADBYTES@@", b"invalid bytes \xff\xfe\xc3\x28 " + tail)


# --- shared counters, rate limit, progress ------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.poison = 0
        self.bytes = 0
        self.errors = 0  # records whose delivery failed
        self.error_samples: list[str] = []
        self.extra: dict = {}  # target-specific counters, reported as they are

    def add(self, key: str, n: int = 1):
        with self.lock:
            self.extra[key] = self.extra.get(key, 0) + n

    def fail(self, records: int, message: str):
        with self.lock:
            self.errors += records
            if len(self.error_samples) < 5:
                self.error_samples.append(message[:300])


class TokenBucket:
    """Smooth rate limit: tokens accrue continuously, at most `burst` are banked."""

    def __init__(self, rate: float, burst: float):
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = 1.0
        self.last = time.monotonic()

    def take(self):
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            time.sleep((1.0 - self.tokens) / self.rate)


def progress_loop(stats: Stats, t0: float, every: float, stop: threading.Event):
    last_t, last_sent = t0, 0
    while not stop.wait(every):
        now = time.monotonic()
        with stats.lock:
            sent, poison, errors, extra = stats.sent, stats.poison, stats.errors, dict(stats.extra)
            nbytes = stats.bytes
        window = (sent - last_sent) / max(now - last_t, 1e-9)
        last_t, last_sent = now, sent
        extras = " ".join(f"{k}={v}" for k, v in sorted(extra.items()) if not isinstance(v, dict))
        print(
            f"loadgen: {now - t0:7.1f}s sent={sent} poison={poison} bytes={nbytes} "
            f"rate={sent / max(now - t0, 1e-9):.1f}/s last={window:.1f}/s errors={errors} {extras}".rstrip(),
            file=sys.stderr,
            flush=True,
        )


# --- targets --------------------------------------------------------------------------------


class FileTarget:
    def __init__(self, spec: str, stats: Stats):
        self.stats = stats
        if spec == "-":
            self.name, self.out, self.own = "-", sys.stdout.buffer, False
        else:
            path = spec[len("file://") :] if spec.startswith("file://") else spec[len("file:") :]
            if not path:
                raise SetupError("file: target needs a path, e.g. file:/tmp/out.ndjson")
            self.name, self.out, self.own = f"file:{path}", open(path, "wb"), True
        self.last_flush = 0.0

    def send(self, key: str, data: bytes, poisoned: bool):
        self.out.write(data + b"\n")

    def tick(self):
        # A reader of a paced stream sees records within 0.2 s, not once a buffer fills.
        now = time.monotonic()
        if now - self.last_flush >= 0.2:
            self.out.flush()
            self.last_flush = now

    def close(self):
        try:
            self.out.flush()
        except BrokenPipeError:
            _silence_stdout()
        if self.own:
            self.out.close()


def _silence_stdout():
    """After the reader of stdout went away, send what is left there to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class KafkaTarget:
    def __init__(self, url: str, args: argparse.Namespace, stats: Stats):
        try:
            from kafka import KafkaProducer
            from kafka.errors import KafkaError
        except ImportError:
            raise SetupError("kafka:// needs kafka-python: pip install -r loadtest/requirements-loadgen.txt") from None
        rest = url[len("kafka://") :]
        hosts, _, topic = rest.partition("/")
        topic = topic.strip("/")
        if not hosts or not topic:
            raise SetupError("kafka target must be kafka://HOST:PORT[,HOST:PORT...]/TOPIC")
        self.name, self.topic, self.stats = url, topic, stats
        self.KafkaError = KafkaError
        acks = args.acks if args.acks == "all" else int(args.acks)
        try:
            self.producer = KafkaProducer(
                bootstrap_servers=hosts.split(","),
                client_id="glossa-loadgen",
                acks=acks,
                linger_ms=args.kafka_linger_ms,
                batch_size=args.kafka_batch_bytes,
                compression_type=None if args.compression == "none" else args.compression,
                max_block_ms=args.timeout * 1000,
                request_timeout_ms=args.timeout * 1000,
                retries=5,
            )
        except KafkaError as e:
            raise SetupError(f"cannot connect to Kafka at {hosts}: {e!r}") from None
        self.partitions = self._ensure_topic(hosts, args.partitions)
        stats.extra["acked"] = 0
        stats.extra["broker_api_version"] = ".".join(map(str, self.producer.config.get("api_version") or ()))
        self.per_partition: dict[int, int] = {}

    def _ensure_topic(self, hosts: str, partitions: int | None) -> set:
        found = self.producer.partitions_for(self.topic) if self._topic_exists(hosts) else None
        if found:
            return found
        if not partitions:
            raise SetupError(
                f"topic {self.topic!r} does not exist (auto-creation may be off); create it, "
                f"or pass --partitions N to have loadgen create it"
            )
        from kafka.admin import KafkaAdminClient, NewTopic

        admin = KafkaAdminClient(bootstrap_servers=hosts.split(","), client_id="glossa-loadgen-admin")
        try:
            admin.create_topics([NewTopic(self.topic, num_partitions=partitions, replication_factor=1)])
        finally:
            admin.close()
        print(f"loadgen: created topic {self.topic} with {partitions} partitions", file=sys.stderr)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = self.producer.partitions_for(self.topic)
            if found:
                return found
            time.sleep(0.2)
        raise SetupError(f"topic {self.topic!r} created but no partition metadata within 30 s")

    def _topic_exists(self, hosts: str) -> bool:
        # partitions_for() waits max_block_ms for a missing topic; ask the cluster's list first.
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=hosts.split(","), client_id="glossa-loadgen-admin")
        try:
            return self.topic in set(admin.list_topics())
        finally:
            admin.close()

    def _ok(self, metadata):
        with self.stats.lock:
            self.stats.extra["acked"] += 1
            self.per_partition[metadata.partition] = self.per_partition.get(metadata.partition, 0) + 1

    def _err(self, exc):
        self.stats.fail(1, f"kafka delivery failed: {exc!r}")

    def send(self, key: str, data: bytes, poisoned: bool):
        try:
            fut = self.producer.send(self.topic, key=key.encode("utf-8"), value=data)
        except self.KafkaError as e:
            self.stats.fail(1, f"kafka send failed: {e!r}")
            return
        fut.add_callback(self._ok)
        fut.add_errback(self._err)

    def tick(self):
        pass

    def close(self):
        try:
            self.producer.flush()
        finally:
            self.producer.close()
        with self.stats.lock:
            self.stats.extra["partitions"] = {str(p): n for p, n in sorted(self.per_partition.items())}


class S3Target:
    def __init__(self, url: str, args: argparse.Namespace, stats: Stats):
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise SetupError("s3:// needs boto3: pip install -r loadtest/requirements-loadgen.txt") from None
        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        if not self.bucket:
            raise SetupError("s3 target must be s3://BUCKET[/PREFIX]")
        self.name, self.stats = url, stats
        self.endpoint = args.endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.ClientError, self.BotoCoreError = ClientError, BotoCoreError
        self.s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=args.timeout,
            ),
        )
        self._ensure_bucket(region)
        self.per_object = args.records_per_object
        self.gzip_ratio = 1.0 if args.gzip else args.gzip_ratio
        self.content_encoding = args.content_encoding
        self.gz_rng = random.Random(f"{args.seed}-gzip")
        self.part = args.start_part
        self.lines: list[bytes] = []
        for k in ("objects", "gzip_objects", "object_bytes"):
            stats.extra[k] = 0
        stats.extra["endpoint"] = self.endpoint or "(aws default)"

    def _ensure_bucket(self, region: str):
        try:
            self.s3.head_bucket(Bucket=self.bucket)
            return
        except self.ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise SetupError(f"bucket {self.bucket}: {e}") from None
        except self.BotoCoreError as e:
            raise SetupError(f"S3 endpoint {self.endpoint}: {e}") from None
        kwargs = {"Bucket": self.bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.s3.create_bucket(**kwargs)
        except self.ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise SetupError(f"cannot create bucket {self.bucket}: {e}") from None
        print(f"loadgen: created bucket {self.bucket}", file=sys.stderr)

    def send(self, key: str, data: bytes, poisoned: bool):
        self.lines.append(data)
        if len(self.lines) >= self.per_object:
            self._put()

    def tick(self):
        pass

    def _put(self):
        if not self.lines:
            return
        body = b"\n".join(self.lines) + b"\n"
        count = len(self.lines)
        self.lines = []
        gz = self.gzip_ratio >= 1.0 or (self.gzip_ratio > 0 and self.gz_rng.random() < self.gzip_ratio)
        name = f"part-{self.part:06d}.ndjson" + (".gz" if gz else "")
        key = f"{self.prefix}/{name}" if self.prefix else name
        self.part += 1
        extra = {"ContentType": "application/x-ndjson"}
        if gz:
            body = gzip.compress(body, compresslevel=6)
            if self.content_encoding:
                extra["ContentEncoding"] = "gzip"
            else:
                extra["ContentType"] = "application/gzip"
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        except (self.ClientError, self.BotoCoreError) as e:
            self.stats.fail(count, f"put {key}: {e}")
            return
        self.stats.add("objects")
        self.stats.add("object_bytes", len(body))
        if gz:
            self.stats.add("gzip_objects")

    def close(self):
        self._put()


class HttpTarget:
    """NDJSON batches to POST /v1/documents from --concurrency threads with keep-alive."""

    def __init__(self, url: str, args: argparse.Namespace, stats: Stats):
        parts = urlsplit(url)
        if not parts.hostname:
            raise SetupError("http target must be http://HOST:PORT[/PATH]")
        self.name, self.stats = url, stats
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = parts.path if parts.path not in ("", "/") else "/v1/documents"
        if parts.query:
            self.path += "?" + parts.query
        self.batch_size = args.batch
        self.flush_s = args.flush_ms / 1000.0
        self.timeout = args.timeout
        self.max_retries = args.max_retries
        self.max_backoff = args.max_backoff
        self.batch: list[bytes] = []
        self.batch_started = 0.0
        self.queue: queue.Queue = queue.Queue(maxsize=args.concurrency)
        for k in ("requests", "accepted", "rejected", "retries_429", "retries_503", "retries_conn"):
            stats.extra[k] = 0
        stats.extra["status"] = {}
        self._probe()
        self.workers = [
            threading.Thread(target=self._worker, name=f"http-{i}", daemon=True) for i in range(args.concurrency)
        ]
        for w in self.workers:
            w.start()

    def _conn(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def _probe(self):
        conn = self._conn()
        try:
            conn.connect()
        except OSError as e:
            raise SetupError(f"cannot connect to {self.host}:{self.port}: {e}") from None
        finally:
            conn.close()

    def send(self, key: str, data: bytes, poisoned: bool):
        if not self.batch:
            self.batch_started = time.monotonic()
        self.batch.append(data)
        if len(self.batch) >= self.batch_size:
            self._submit()

    def tick(self):
        if self.batch and time.monotonic() - self.batch_started >= self.flush_s:
            self._submit()

    def _submit(self):
        batch, self.batch = self.batch, []
        self.queue.put(batch)  # blocks while every worker is busy: back-pressure on the generator

    def _worker(self):
        conn = self._conn()
        while True:
            batch = self.queue.get()
            if batch is None:
                conn.close()
                return
            conn = self._post(conn, batch)

    def _post(self, conn, batch: list[bytes]):
        body = b"\n".join(batch) + b"\n"
        headers = {"Content-Type": "application/x-ndjson", "Content-Length": str(len(body))}
        backoff = 0.05
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
                status = resp.status
                retry_after = resp.getheader("Retry-After")
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = self._conn()
                if last:
                    self.stats.fail(len(batch), f"POST {self.path}: {e!r}")
                    return conn
                self.stats.add("retries_conn")
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if status in (429, 503) and not last:
                self.stats.add(f"retries_{status}")
                wait = backoff
                if retry_after:
                    try:
                        wait = float(retry_after)
                    except ValueError:
                        pass
                time.sleep(min(wait, self.max_backoff) * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, self.max_backoff)
                continue
            with self.stats.lock:
                self.stats.extra["requests"] += 1
                counts = self.stats.extra["status"]
                counts[str(status)] = counts.get(str(status), 0) + 1
            if 200 <= status < 300:
                try:
                    doc = json.loads(answer)
                    self.stats.add("accepted", int(doc.get("accepted", 0)))
                    self.stats.add("rejected", len(doc.get("rejected") or []))
                except (ValueError, AttributeError, TypeError):
                    pass
            else:
                self.stats.fail(len(batch), f"POST {self.path}: HTTP {status}: {answer[:200]!r}")
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = self._conn()
            return conn
        return conn

    def close(self):
        if self.batch:
            self._submit()
        for _ in self.workers:
            self.queue.put(None)
        for w in self.workers:
            w.join()
        with self.stats.lock:
            self.stats.extra["status"] = dict(sorted(self.stats.extra["status"].items()))


def make_target(spec: str, args: argparse.Namespace, stats: Stats):
    if spec == "-" or spec.startswith("file:"):
        return FileTarget(spec, stats)
    if spec.startswith("kafka://"):
        return KafkaTarget(spec, args, stats)
    if spec.startswith("s3://"):
        return S3Target(spec, args, stats)
    if spec.startswith(("http://", "https://")):
        return HttpTarget(spec, args, stats)
    raise SetupError(f"unknown target {spec!r}: use kafka://HOST:PORT/TOPIC, s3://BUCKET/PREFIX, http://HOST:PORT, file:PATH or -")


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="?", help="same as --to")
    p.add_argument("--to", help="kafka://HOST:PORT/TOPIC, s3://BUCKET/PREFIX, http://HOST:PORT, file:PATH or -")
    g = p.add_argument_group("records")
    g.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="NDJSON corpus (default: %(default)s)")
    g.add_argument("--text-field", default="body", help="corpus text field, kept in the output (default: body)")
    g.add_argument("--lang-field", help=f"corpus field naming the language (default: first of {', '.join(LANG_FIELDS)} present)")
    g.add_argument("--keep-fields", help="comma-separated corpus fields copied into each record, e.g. edition_code")
    g.add_argument("--count", type=int, default=1000, help="records to send, poison included (default: 1000)")
    g.add_argument("--duration", type=float, help="stop after this many seconds even if --count is not reached")
    g.add_argument("--seed", type=int, default=1, help="RNG seed for record content (default: 1)")
    g.add_argument("--run-id", help="id prefix: ids are <run-id>-<seq> (default: random, e.g. lg3fa2b1)")
    g.add_argument("--start-seq", type=int, default=1, help="first seq number (default: 1)")
    g.add_argument("--no-ids", action="store_true", help="records carry no id field")
    g.add_argument("--min-bytes", type=int, default=100, help="smallest text target in bytes (default: 100)")
    g.add_argument("--max-bytes", type=int, default=4000, help="largest text in bytes (default: 4000)")
    g.add_argument("--concat-prob", type=float, default=0.5,
                   help="chance of appending a second same-language slice when the first falls short (default: 0.5)")
    g.add_argument("--tenants", default=DEFAULT_TENANTS, help=f"tenant keywords (default: {DEFAULT_TENANTS})")
    g.add_argument("--poison-every", type=int, default=0, metavar="N",
                   help="every Nth record is malformed: not JSON, no text field, invalid UTF-8 in turn")
    g = p.add_argument_group("pace and report")
    g.add_argument("--rate", type=float, help="records per second (token bucket); default: as fast as possible")
    g.add_argument("--burst", type=float, help="tokens the bucket may bank (default: rate/50, at least 1)")
    g.add_argument("--progress", type=float, default=5.0, help="seconds between progress lines on stderr (default: 5)")
    g.add_argument("--report", help="also write the report JSON line to this file")
    g.add_argument("--timeout", type=int, default=60, help="network timeout in seconds (default: 60)")
    g = p.add_argument_group("kafka")
    g.add_argument("--acks", choices=["0", "1", "all"], default="all", help="producer acks (default: all)")
    g.add_argument("--compression", choices=["none", "gzip"], default="none", help="producer compression (default: none)")
    g.add_argument("--kafka-linger-ms", type=int, default=5, help="producer linger.ms (default: 5)")
    g.add_argument("--kafka-batch-bytes", type=int, default=65536, help="producer batch.size (default: 65536)")
    g.add_argument("--partitions", type=int, help="create the topic with this many partitions if it is missing")
    g = p.add_argument_group("s3")
    g.add_argument("--endpoint", help="S3 endpoint URL (default: $AWS_ENDPOINT_URL_S3)")
    g.add_argument("--records-per-object", type=int, default=10000, help="lines per object (default: 10000)")
    g.add_argument("--gzip", action="store_true", help="gzip every object (.ndjson.gz)")
    g.add_argument("--gzip-ratio", type=float, default=0.0, help="share of objects gzipped, 0..1 (default: 0)")
    g.add_argument("--content-encoding", action="store_true",
                   help="store gzip objects with Content-Encoding: gzip and type application/x-ndjson "
                        "(default: no encoding, type application/gzip)")
    g.add_argument("--start-part", type=int, default=1, help="first part number in object keys (default: 1)")
    g = p.add_argument_group("http")
    g.add_argument("--batch", type=int, default=500, help="records per POST (default: 500)")
    g.add_argument("--concurrency", type=int, default=2, help="POSTs in flight (default: 2)")
    g.add_argument("--flush-ms", type=int, default=1000, help="send a partial batch after this long (default: 1000)")
    g.add_argument("--max-retries", type=int, default=100, help="retries of one batch on 429/503/connection errors (default: 100)")
    g.add_argument("--max-backoff", type=float, default=5.0, help="longest wait between retries in seconds (default: 5)")
    args = p.parse_args(argv)
    if args.target and args.to and args.target != args.to:
        p.error("give the target once: as --to or as the positional argument")
    args.to = args.to or args.target
    if not args.to:
        p.error("a target is needed: --to kafka://..., s3://..., http://..., file:PATH or -")
    for name in ("count", "batch", "concurrency", "records_per_object", "min_bytes", "max_bytes"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.min_bytes > args.max_bytes:
        p.error("--min-bytes must not exceed --max-bytes")
    if args.rate is not None and args.rate <= 0:
        p.error("--rate must be positive (leave it out for no limit)")
    if not 0.0 <= args.gzip_ratio <= 1.0 or not 0.0 <= args.concat_prob <= 1.0:
        p.error("--gzip-ratio and --concat-prob are between 0 and 1")
    if args.poison_every < 0:
        p.error("--poison-every must be 0 (off) or positive")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    run_id = args.run_id or f"lg{secrets.token_hex(3)}"
    stats = Stats()
    try:
        corpus = Corpus(args.corpus, args.text_field, args.lang_field)
        gen = Generator(corpus, args, run_id)
        target = make_target(args.to, args, stats)
    except (SetupError, OSError) as e:
        print(f"loadgen: error: {e}", file=sys.stderr)
        return 2
    bucket = TokenBucket(args.rate, args.burst or args.rate / 50) if args.rate else None
    print(
        f"loadgen: run {run_id} -> {target.name}: count={args.count} rate={args.rate or 'unlimited'} "
        f"seed={args.seed} corpus={args.corpus} ({len(corpus.records)} lines, {len(corpus.by_lang)} groups)",
        file=sys.stderr,
        flush=True,
    )
    t0 = time.monotonic()
    deadline = t0 + args.duration if args.duration else None
    stop = threading.Event()
    progress = threading.Thread(target=progress_loop, args=(stats, t0, args.progress, stop), daemon=True)
    progress.start()
    stopped = None
    try:
        for n in range(1, args.count + 1):
            if bucket:
                bucket.take()
            if deadline and time.monotonic() >= deadline:
                break
            seq = args.start_seq + n - 1
            data, poisoned = gen.make(n, seq)
            target.send(gen.key(seq), data, poisoned)
            with stats.lock:
                stats.sent += 1
                stats.bytes += len(data)
                stats.poison += poisoned
            target.tick()
    except KeyboardInterrupt:
        stopped = "interrupt"
        print("loadgen: interrupted, flushing what was generated", file=sys.stderr)
    except BrokenPipeError:  # e.g. `loadgen.py - | head`: the reader has had enough
        stopped = "broken_pipe"
        _silence_stdout()
    try:
        target.close()
    except Exception as e:  # a failed flush is reported, not hidden behind a traceback
        stats.fail(0, f"closing the target: {e!r}")
        stats.extra["close_failed"] = True
    seconds = time.monotonic() - t0
    stop.set()
    report = {
        "target": target.name,
        "run_id": run_id,
        "sent": stats.sent,
        "poison": stats.poison,
        "bytes": stats.bytes,
        "seconds": round(seconds, 3),
        "docs_per_s": round(stats.sent / seconds, 1) if seconds > 0 else None,
        "errors": stats.errors,
        "retries_429": stats.extra.pop("retries_429", 0),
    }
    report.update(stats.extra)
    if stats.error_samples:
        report["error_samples"] = stats.error_samples
    if stopped:
        report["stopped"] = stopped
    line = json.dumps(report, ensure_ascii=False)
    print(line, file=sys.stderr if target.name == "-" else sys.stdout, flush=True)
    if args.report:
        Path(args.report).write_text(line + "\n", encoding="utf-8")
    return 1 if stats.errors or stats.extra.get("close_failed") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
