"""The real stack for the dApp's browser tests: ganache, Kubo, the deployed contracts, the
indexer and the gateway (serving frontend/dist), on free ports in a temporary data dir, with
demo assets published by the `datadao` CLI and sealed to the gateway.

Prints one JSON line on stdout when everything is ready, then waits; SIGTERM, SIGINT or the
end of stdin stops every process it started and removes the data dir.

    .venv/bin/python frontend/e2e/stack.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from dapp.chain.accounts import Keystore, dev_account  # noqa: E402
from dapp.config import Settings  # noqa: E402
from dapp.devstack.process import free_port  # noqa: E402
from dapp.devstack.up import Stack, local_stack_settings, settings_env  # noqa: E402

PASSWORD = "e2e publisher"
# Dev accounts funded with ETH by ganache and DDT by scripts/deploy.py.
PUBLISHER = dev_account(5)
BUYER = dev_account(6)

DEMO_ASSETS = [
    {"file": "weather-stations.csv", "size": 300_000, "title": "Weather stations 2024",
     "kind": "dataset", "tags": ["weather", "csv"], "price": "10", "duration": "30d",
     "description": "Hourly readings of 40 stations, one CSV."},
    {"file": "sentiment-model.bin", "size": 120_000, "title": "Sentiment classifier",
     "kind": "model", "tags": ["nlp"], "price": "25", "duration": "0",
     "description": "A small text classifier: positive, negative, neutral."},
]


def say(text: str) -> None:
    print(f"[stack] {text}", file=sys.stderr, flush=True)


def demo_bytes(name: str, size: int) -> bytes:
    """Deterministic content that does not compress to nothing."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def publish(settings: Settings, path: Path, asset: dict[str, object]) -> dict[str, object]:
    env = {**os.environ, **settings_env(settings), "DAPP_KEYSTORE_PASSWORD": PASSWORD,
           "DAPP_ACCOUNT": "publisher"}
    argv = [sys.executable, "-m", "dapp.cli.main", "publish", str(path),
            "--title", str(asset["title"]), "--description", str(asset["description"]),
            "--kind", str(asset["kind"]), "--license-text", "CC-BY-4.0 (demo data)",
            "--price", str(asset["price"]), "--duration", str(asset["duration"]),
            "--curator-share", "10", "--gateway", settings.resolved_gateway_public_url, "--json"]
    for tag in asset["tags"]:  # type: ignore[attr-defined]
        argv += ["--tag", str(tag)]
    result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"publish failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def wait_indexed(url: str, asset_id: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{url}/v1/assets/{asset_id}", timeout=5)
        if response.status_code == 200 and response.json().get("metadata"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"asset {asset_id} did not reach the catalog within {timeout} s")


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="dapp-e2e-"))
    settings = local_stack_settings(Settings(
        data_dir=data_dir, chain_port=free_port(), ipfs_api_port=free_port(),
        ipfs_gateway_port=free_port(), ipfs_swarm_port=free_port(), gateway_port=free_port(),
        indexer_poll_seconds=0.5, log_level="WARNING",
    ))
    stack = Stack(settings, say=say)
    failed = False
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()
        raise KeyboardInterrupt  # also interrupts a start still in progress

    def watch_stdin() -> None:  # the runner died: its end of the pipe closed
        while sys.stdin.buffer.read(1):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        started = time.monotonic()
        stack.start()
        say(f"stack up in {time.monotonic() - started:.1f} s")
        Keystore(settings.resolved_keystore_dir).import_key("publisher", PUBLISHER.key.hex(),
                                                            PASSWORD)
        url = settings.resolved_gateway_public_url
        assets = []
        for asset in DEMO_ASSETS:
            path = data_dir / "demo" / str(asset["file"])
            path.parent.mkdir(exist_ok=True)
            content = demo_bytes(path.name, int(asset["size"]))  # type: ignore[call-overload]
            path.write_bytes(content)
            published = publish(settings, path, asset)
            wait_indexed(url, int(published["asset_id"]))  # type: ignore[call-overload]
            assets.append({"id": published["asset_id"], "title": asset["title"],
                           "file": asset["file"], "sha256": hashlib.sha256(content).hexdigest()})
        say(f"published {len(assets)} demo assets in {time.monotonic() - started:.1f} s total")
        print(json.dumps({
            "gateway": url, "rpc": settings.chain_rpc_url, "chainId": settings.chain_id,
            "buyer": BUYER.address, "publisher": PUBLISHER.address, "assets": assets,
            "logs": str(data_dir / "logs"),
        }), flush=True)
        while not stopping.wait(0.5):
            for process in stack.processes:
                if not process.is_running():
                    failed = True
                    say(f"{process.name} stopped; see {process.log_file}")
                    return 1
        return 0
    except KeyboardInterrupt:
        say("stopping")
        return 0
    except Exception as error:  # the runner reads stderr; one line is enough
        failed = True
        say(f"failed: {error}; logs kept in {data_dir / 'logs'}")
        print(json.dumps({"error": str(error), "logs": str(data_dir / "logs")}), flush=True)
        return 1
    finally:
        stack.stop()
        if not failed and os.environ.get("E2E_KEEP_DATA") != "1":
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)  # the stdin watcher thread may still be blocked in read()
