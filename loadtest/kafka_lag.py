#!/usr/bin/env python3
"""Kafka helpers for loadtest/kafka-bench.sh: produce an NDJSON file into a topic, sample a
consumer group's lag, summarise lag CSVs.

  kafka_lag.py produce --bootstrap H:P --topic T --partitions N FILE
      Creates T (N partitions, replication factor 1; an existing topic is an error) and sends
      every non-empty line of FILE as one record, key = the record's "id" (the line number
      when it has none), so the default murmur2 partitioner spreads the records. Checks that
      the topic's end offsets add up to the number of lines and prints one JSON report line.

  kafka_lag.py lag --bootstrap H:P --group G --topic T [--interval 1] [--out FILE]
      Every INTERVAL seconds writes `seconds,lag` (after a `seconds,lag` header), where lag is
      the sum over T's partitions of end offset - committed offset of G (a partition without a
      committed offset counts from 0, the start of a fresh topic). Runs until SIGTERM/SIGINT,
      then takes one last sample and exits 0. Lines are flushed as they are written, so a
      caller can wait for the first sample before starting the consumer.

  kafka_lag.py summary --count N [--label L] CSV
      One JSON line: initial lag, whether it equals N, seconds to the first sample below it
      (the first commit) and to the first zero sample, the final lag, the lag at a few points
      in time, and the longest stretch during which a non-zero lag stood still after the first
      commit (no offsets committed meanwhile).

Needs kafka-python 3.0.12 (loadtest/requirements-loadgen.txt), e.g. ~/.cache/glossa/s3/venv.
"""
from __future__ import annotations

import argparse
import csv
import json
import signal
import sys
import time


def kafka_modules():
    try:
        import kafka  # noqa: F401
    except ImportError:
        sys.exit("kafka_lag.py: needs kafka-python: pip install -r loadtest/requirements-loadgen.txt")


# --- produce ---------------------------------------------------------------------------------


def produce(args: argparse.Namespace) -> int:
    kafka_modules()
    from kafka import KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic, OffsetSpec

    hosts = args.bootstrap.split(",")
    admin = KafkaAdminClient(bootstrap_servers=hosts, client_id="glossa-kbench-admin")
    try:
        if args.topic in set(admin.list_topics()):
            print(f"kafka_lag.py: topic {args.topic} already exists; use a fresh topic", file=sys.stderr)
            return 2
        admin.create_topics([NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)])
        producer = KafkaProducer(
            bootstrap_servers=hosts,
            client_id="glossa-kbench",
            acks="all",
            linger_ms=args.linger_ms,
            batch_size=args.batch_bytes,
            retries=5,
        )
        deadline = time.monotonic() + 30
        while not producer.partitions_for(args.topic):
            if time.monotonic() > deadline:
                print(f"kafka_lag.py: no metadata for {args.topic} 30 s after creating it", file=sys.stderr)
                return 2
            time.sleep(0.2)

        samples: list[str] = []
        acked = errors = 0

        def ok(_metadata):
            nonlocal acked
            acked += 1

        def err(exc):
            nonlocal errors
            errors += 1
            if len(samples) < 5:
                samples.append(repr(exc))

        sent = 0
        nbytes = 0
        t0 = time.monotonic()
        with open(args.file, "rb") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip(b"\r\n")
                if not line.strip():
                    continue
                try:
                    key = str(json.loads(line).get("id", n))
                except (ValueError, AttributeError):
                    key = str(n)
                fut = producer.send(args.topic, key=key.encode("utf-8"), value=line)
                fut.add_callback(ok)
                fut.add_errback(err)
                sent += 1
                nbytes += len(line)
        producer.flush()
        seconds = time.monotonic() - t0
        producer.close()

        tps = [TopicPartition(args.topic, p) for p in range(args.partitions)]
        ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
        per_partition = {str(tp.partition): ends[tp].offset for tp in sorted(ends, key=lambda t: t.partition)}
        total = sum(per_partition.values())
    finally:
        admin.close()
    report = {
        "topic": args.topic,
        "sent": sent,
        "acked": acked,
        "errors": errors,
        "bytes": nbytes,
        "seconds": round(seconds, 3),
        "docs_per_s": round(sent / seconds, 1) if seconds > 0 else None,
        "end_offsets": per_partition,
        "end_offsets_total": total,
    }
    if errors:
        report["error_samples"] = samples
    print(json.dumps(report), flush=True)
    if errors or total != sent or acked != sent:
        print(f"kafka_lag.py: produced {sent} lines but {acked} acked and end offsets add up to {total}", file=sys.stderr)
        return 1
    return 0


# --- lag -------------------------------------------------------------------------------------


class LagProbe:
    def __init__(self, bootstrap: str, group: str, topic: str):
        from kafka import TopicPartition
        from kafka.admin import KafkaAdminClient, OffsetSpec

        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="glossa-kbench-lag")
        self.group = group
        self.latest = OffsetSpec.LATEST
        meta = self.admin.describe_topics([topic])
        partitions = sorted(p.get("partition_index", p.get("partition")) for p in meta[0]["partitions"])
        if not partitions:
            raise SystemExit(f"kafka_lag.py: topic {topic} has no partitions (does it exist?)")
        self.tps = [TopicPartition(topic, p) for p in partitions]

    def sample(self) -> int:
        ends = self.admin.list_partition_offsets({tp: self.latest for tp in self.tps})
        committed = self.admin.list_group_offsets({self.group: self.tps}).get(self.group, {})
        lag = 0
        for tp in self.tps:
            end = ends[tp].offset
            c = committed.get(tp)
            done = c.offset if c is not None and c.offset is not None and c.offset >= 0 else 0
            lag += max(end - done, 0)
        return lag

    def close(self):
        self.admin.close()


def lag(args: argparse.Namespace) -> int:
    kafka_modules()
    stop = False

    def on_signal(_signum, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    probe = LagProbe(args.bootstrap, args.group, args.topic)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    # Untimed first samples: finding the group coordinator takes a moment, and on a fresh broker
    # it is not available until the offsets topic exists (CoordinatorNotAvailable for ~1 s).
    deadline = time.monotonic() + 60
    while not stop:
        try:
            probe.sample()
            break
        except Exception as e:
            if time.monotonic() > deadline:
                raise SystemExit(f"kafka_lag.py: no lag sample within 60 s: {e!r}")
            time.sleep(0.2)
    out.write("seconds,lag\n")
    out.flush()
    t0 = time.monotonic()
    tick = 0
    try:
        while True:
            last = stop
            at = time.monotonic() - t0  # when the sample was asked for (one takes up to ~1 s)
            try:
                value = probe.sample()
            except Exception as e:  # a slow or busy broker: note it, keep sampling
                print(f"kafka_lag.py: lag sample failed: {e!r}", file=sys.stderr, flush=True)
                value = None
            if value is not None:
                out.write(f"{at:.2f},{value}\n")
                out.flush()
            if last:
                break
            tick += 1
            # Sample on a fixed grid (t0 + k*interval), so a slow sample does not shift the rest.
            wait = t0 + tick * args.interval - time.monotonic()
            end = time.monotonic() + max(wait, 0)
            while not stop and time.monotonic() < end:
                time.sleep(min(0.05, max(end - time.monotonic(), 0)))
    finally:
        probe.close()
        if out is not sys.stdout:
            out.close()
    return 0


# --- summary ---------------------------------------------------------------------------------


def summary(args: argparse.Namespace) -> int:
    rows: list[tuple[float, int]] = []
    with open(args.csv, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.append((float(row["seconds"]), int(row["lag"])))
    if not rows:
        print(json.dumps({"label": args.label, "samples": 0}))
        return 1
    initial = rows[0][1]
    zero_at = next((t for t, v in rows if v == 0), None)
    first_drop = next((t for t, v in rows if v < initial), None)
    end = zero_at if zero_at is not None else rows[-1][0]
    # The longest stretch of samples with one unchanged non-zero lag (commits standing still).
    plateau, run_start = None, 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][1] != rows[run_start][1]:
            lag_value = rows[run_start][1]
            span = rows[i - 1][0] - rows[run_start][0]
            if lag_value and run_start > 0 and (plateau is None or span > plateau["seconds"]):
                plateau = {"lag": lag_value, "from_s": round(rows[run_start][0], 2), "seconds": round(span, 2)}
            run_start = i
    points = {}
    for frac in (0.25, 0.5, 0.75):
        t_want = end * frac
        t, v = min(rows, key=lambda r: abs(r[0] - t_want))
        points[f"{t:.0f}s"] = v
    result = {
        "label": args.label,
        "samples": len(rows),
        "initial_lag": initial,
        "initial_is_count": initial == args.count if args.count is not None else None,
        "max_lag": max(v for _, v in rows),
        "seconds_to_first_commit": round(first_drop, 2) if first_drop is not None else None,
        "seconds_to_zero": round(zero_at, 2) if zero_at is not None else None,
        "final_lag": rows[-1][1],
        "lag_at": points,
        "longest_plateau": plateau,
    }
    print(json.dumps(result))
    return 0 if result["final_lag"] == 0 else 1


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("produce", help="create a topic and produce the lines of an NDJSON file")
    pp.add_argument("--bootstrap", required=True)
    pp.add_argument("--topic", required=True)
    pp.add_argument("--partitions", type=int, required=True)
    pp.add_argument("--linger-ms", type=int, default=20)
    pp.add_argument("--batch-bytes", type=int, default=262144)
    pp.add_argument("file")
    pl = sub.add_parser("lag", help="sample a consumer group's total lag on a topic")
    pl.add_argument("--bootstrap", required=True)
    pl.add_argument("--group", required=True)
    pl.add_argument("--topic", required=True)
    pl.add_argument("--interval", type=float, default=1.0)
    pl.add_argument("--out", help="CSV file (default: stdout)")
    ps = sub.add_parser("summary", help="summarise a lag CSV written by `lag`")
    ps.add_argument("--count", type=int, help="expected initial lag")
    ps.add_argument("--label", default="")
    ps.add_argument("csv")
    args = p.parse_args(argv)
    if args.cmd == "produce":
        return produce(args)
    if args.cmd == "lag":
        if args.interval <= 0:
            p.error("--interval must be positive")
        return lag(args)
    return summary(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
