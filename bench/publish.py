"""Publishing throughput: pack + hash + encrypt + add (our pipeline) vs a plain add of the
same file to the same Kubo, and the pipeline's peak memory on the largest file.

    .venv/bin/python -m bench.publish [--sizes-mb 100,1024] [--no-append]

Starts its own Kubo in a temporary directory. Each measurement runs in a fresh child process
so its peak RSS (VmHWM) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

from bench.common import mb_per_second, peak_rss_kib
from bench.stack import emit, write_random_file
from dapp.devstack.kubo import KuboPorts, start_kubo
from dapp.ports import free_port


def child(mode: str, api_url: str, path: Path) -> None:
    """Runs in the child process: one add, then prints seconds and peak RSS as JSON."""
    from dapp.crypto.sealing import GatewayKeyPair
    from dapp.ipfs.client import IpfsClient
    from dapp.publishing.exchange import Exchange
    from dapp.publishing.pipeline import ContentRequest, PublishPipeline

    ipfs = IpfsClient(api_url, timeout_seconds=600)
    start = time.perf_counter()
    if mode == "plain":
        with path.open("rb") as source:
            ipfs.add_stream(source, pin=True)
    else:
        key = GatewayKeyPair.generate().public_key_b64
        pipeline = PublishPipeline(ipfs, cast(Exchange, None))
        pipeline.upload(ContentRequest(path=path, title="bench", license_text="CC0-1.0",
                                       gateway_keys=(key,)))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_kib": peak_rss_kib(os.getpid())}))


def run_child(mode: str, api_url: str, path: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.publish", "--child", mode,
         "--api", api_url, "--file", str(path)],
        capture_output=True, text=True, check=True,
    )
    return cast(dict[str, float], json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", default="100,1024")
    parser.add_argument("--child")
    parser.add_argument("--api")
    parser.add_argument("--file")
    parser.add_argument("--no-append", action="store_true",
                        help="print the table only (a trial run)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.api, Path(args.file))
        return

    sizes = [int(s) * 1_000_000 for s in args.sizes_mb.split(",")]
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        base = Path(tmp)
        ports = KuboPorts(free_port(), free_port(), free_port())
        kubo = start_kubo(base / "ipfs", ports, base / "kubo.log")
        api_url = f"http://127.0.0.1:{ports.api}"
        try:
            for size in sizes:
                path = base / f"data-{size}.bin"
                write_random_file(path, size)
                plain = run_child("plain", api_url, path)
                ours = run_child("pipeline", api_url, path)
                rows.append([
                    f"{size / 1e6:,.0f} MB",
                    mb_per_second(size, plain["seconds"]),
                    mb_per_second(size, ours["seconds"]),
                    f"{plain['seconds'] / ours['seconds']:.2f}",
                    f"{plain['peak_kib'] / 1024:,.0f} MiB",
                    f"{ours['peak_kib'] / 1024:,.0f} MiB",
                ])
                path.unlink()
        finally:
            kubo.stop()
    emit(
        not args.no_append,
        "Publishing: encrypt + add vs plain add",
        ["file", "plain add", "pack+encrypt+add", "ratio (aim ≥ 0.7)",
         "peak RSS plain", "peak RSS pipeline"],
        rows,
        "Plain add: the file streamed to Kubo's /api/v0/add (CIDv1, raw leaves, 256 KiB chunks) "
        "by the same client. Pipeline: deterministic packing with sha256, DDX1 AES-256-GCM in "
        "64 KiB segments, the sealed key and the metadata document, both added and pinned. "
        "Random (incompressible) data; each run in a fresh process.",
    )


if __name__ == "__main__":
    main()
