#!/usr/bin/env python3
"""Smoke test of the S3-protocol server started by scripts/s3/s3.sh.

Reads GLOSSA_S3_ENDPOINT, GLOSSA_S3_ACCESS_KEY, GLOSSA_S3_SECRET_KEY and
GLOSSA_S3_REGION (as printed by `s3.sh env`), then: creates a bucket, puts a
plain and a gzip object, lists with pagination (MaxKeys=1), gets a byte range,
and deletes everything again. Exits non-zero on the first mismatch.
Run it with the venv python that `s3.sh smoke` sets up (boto3 pinned there).
"""
import gzip
import os
import sys
import uuid

import boto3
from botocore.config import Config


def main() -> int:
    endpoint = os.environ.get("GLOSSA_S3_ENDPOINT", "http://127.0.0.1:8014")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=os.environ.get("GLOSSA_S3_ACCESS_KEY", "glossa-test-ak"),
        aws_secret_access_key=os.environ.get("GLOSSA_S3_SECRET_KEY", "glossa-test-sk"),
        region_name=os.environ.get("GLOSSA_S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
    bucket = f"glossa-smoke-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    print(f"created bucket {bucket}")

    plain = b"".join(b"line %04d: hello world\n" % i for i in range(100))
    s3.put_object(Bucket=bucket, Key="docs/plain.ndjson", Body=plain, ContentType="application/x-ndjson")
    gz = gzip.compress(plain)
    s3.put_object(Bucket=bucket, Key="docs/packed.ndjson.gz", Body=gz,
                  ContentType="application/x-ndjson", ContentEncoding="gzip")
    s3.put_object(Bucket=bucket, Key="other/third.txt", Body=b"third")
    print(f"put 3 objects (plain {len(plain)} B, gzip {len(gz)} B)")

    # Pagination: one key per page, ListObjectsV2 with continuation tokens.
    keys, pages, token = [], 0, None
    while True:
        kw = {"Bucket": bucket, "MaxKeys": 1}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
        if pages > 10:
            raise SystemExit("pagination did not end")
    want = ["docs/packed.ndjson.gz", "docs/plain.ndjson", "other/third.txt"]
    assert keys == want, f"listed {keys}, want {want}"
    print(f"list_objects_v2 MaxKeys=1: {pages} pages -> {keys}")

    # Prefix + delimiter.
    page = s3.list_objects_v2(Bucket=bucket, Prefix="docs/", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == want[:2], page
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    prefixes = sorted(p["Prefix"] for p in page.get("CommonPrefixes", []))
    assert prefixes == ["docs/", "other/"], prefixes
    print(f"prefix/delimiter listing ok: {prefixes}")

    # Byte range.
    r = s3.get_object(Bucket=bucket, Key="docs/plain.ndjson", Range="bytes=10-29")
    body = r["Body"].read()
    assert body == plain[10:30], body
    print(f"range get bytes=10-29 -> {body!r} ContentRange={r.get('ContentRange')}")

    # Gzip object comes back byte-for-byte (no transparent decoding) and decompresses.
    r = s3.get_object(Bucket=bucket, Key="docs/packed.ndjson.gz")
    raw = r["Body"].read()
    assert raw == gz and gzip.decompress(raw) == plain
    print(f"gzip get ok, ContentEncoding={r.get('ContentEncoding')}")

    head = s3.head_object(Bucket=bucket, Key="docs/plain.ndjson")
    assert head["ContentLength"] == len(plain)

    for k in want:
        s3.delete_object(Bucket=bucket, Key=k)
    s3.delete_bucket(Bucket=bucket)
    print("cleaned up; S3 smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
