"""The real stack for the dApp's browser tests: ganache, Kubo, the deployed contracts, the
indexer and the gateway (serving frontend/dist, and running compute jobs as the dev provider),
on free ports in a temporary data dir, with demo assets published by the `datadao` CLI and
sealed to the gateway. For the DataDAO and compute steps it also publishes an algorithm
(with a COMPUTE offer), creates a DataDAO (the buyer and the publisher are its members) with the DataDAOFactory, and
uploads a CSV dataset the DAO is to publish: the `publish --dao` proposal (target, calldata,
description) goes to the runner, which proposes it through the dApp.

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
from web3.logs import DISCARD

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from dapp.chain.accounts import Keystore, dev_account  # noqa: E402
from dapp.chain.client import connect  # noqa: E402
from dapp.chain.contracts import bind, load_abi  # noqa: E402
from dapp.chain.deployments import load_deployment  # noqa: E402
from dapp.chain.transactions import ErrorDecoder, TransactionSender  # noqa: E402
from dapp.config import Settings  # noqa: E402
from dapp.devstack.demo import read_demo_assets  # noqa: E402
from dapp.devstack.up import Stack, local_stack_settings, settings_env  # noqa: E402
from dapp.market.provider import DEV_PROVIDER_INDEX  # noqa: E402
from dapp.ports import free_port  # noqa: E402

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

# The algorithm the compute step runs on the DAO's dataset: a mean over one CSV column.
# Its COMPUTE offer is what the buyer buys to run it (its owner is paid like any sale).
ALGORITHM = {"file": "mean_temperature.py", "title": "Mean temperature", "kind": "algorithm",
             "tags": ["csv"], "price": "1", "duration": "0", "scope": "compute",
             "description": "Reads $INPUT (a CSV with temp_c), writes the row count and the mean."}
ALGORITHM_SOURCE = """\
import csv, os, pathlib
with open(os.environ["INPUT"], newline="") as f:
    temps = [float(row["temp_c"]) for row in csv.DictReader(f)]
summary = f"rows={len(temps)} mean_temp_c={sum(temps) / len(temps):.2f}\\n"
(pathlib.Path(os.environ["OUTPUT"]) / "summary.txt").write_text(summary)
"""
# The dataset the DAO votes to publish; its COMPUTE offer is what the buyer buys for the job.
DAO_DATASET = {"file": "harbour-readings.csv", "title": "Harbour readings (DAO)",
               "kind": "dataset", "tags": ["weather", "dao"], "price": "5", "duration": "0",
               "scope": "compute",
               "description": "Hourly harbour temperatures, owned by the Harbour Collective."}
DAO_NAME, DAO_SYMBOL = "Harbour Collective", "HARBOUR"
SHARE = 10**18
# Shares: the buyer (the e2e wallet) alone passes the 40 % quorum.
DAO_MEMBERS = [(BUYER.address, 60 * SHARE), (PUBLISHER.address, 40 * SHARE)]
# IDataDAO.Settings in seconds (timestamp clock); the runner moves ganache's clock past them.
VOTING_DELAY, VOTING_PERIOD, EXECUTION_DELAY = 2, 120, 60
QUORUM_PERCENT = 40


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


def harbour_csv() -> str:
    """48 hourly readings with a known mean (the compute step checks the algorithm's output)."""
    rows = ["hour,temp_c"] + [f"{hour},{10 + (hour * 7) % 11}.{hour % 4 * 25:02d}"
                              for hour in range(48)]
    return "\n".join(rows) + "\n"


def expected_summary(csv_text: str) -> str:
    """What ALGORITHM_SOURCE writes for `csv_text`, computed here the same way."""
    temps = [float(line.split(",")[1]) for line in csv_text.strip().splitlines()[1:]]
    return f"rows={len(temps)} mean_temp_c={sum(temps) / len(temps):.2f}\n"


def publish(settings: Settings, path: Path, asset: dict[str, object],
            dao: str | None = None) -> dict[str, object]:
    """`datadao publish` as the publisher; with `dao`, only the upload and the DAO proposal."""
    env = {**os.environ, **settings_env(settings), "DAPP_KEYSTORE_PASSWORD": PASSWORD,
           "DAPP_ACCOUNT": "publisher"}
    argv = [sys.executable, "-m", "dapp.cli.main", "publish", str(path),
            "--title", str(asset["title"]), "--description", str(asset["description"]),
            "--kind", str(asset["kind"]), "--license-text", "CC-BY-4.0 (demo data)",
            "--price", str(asset["price"]), "--duration", str(asset["duration"]),
            "--scope", str(asset.get("scope", "download")),
            "--curator-share", "10", "--gateway", settings.resolved_gateway_public_url, "--json"]
    for tag in asset["tags"]:  # type: ignore[attr-defined]
        argv += ["--tag", str(tag)]
    if dao is not None:
        argv += ["--dao", dao]
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


def challenge_window(settings: Settings) -> int:
    """Seconds after a posted result before the job can be finalized (the runner skips them)."""
    web3 = connect(settings.chain_rpc_url)
    deployment = load_deployment(settings.resolved_deployments_file, web3.eth.chain_id)
    return int(bind(web3, deployment, "ComputeMarket").functions.params().call()[2])


def create_dao(settings: Settings) -> str:
    """A DataDAO made by the publisher through the DataDAOFactory, in one transaction."""
    web3 = connect(settings.chain_rpc_url)
    deployment = load_deployment(settings.resolved_deployments_file, web3.eth.chain_id)
    factory = bind(web3, deployment, "DataDAOFactory")
    token = deployment.contract("TestToken").address
    dao_settings = (VOTING_DELAY, VOTING_PERIOD, EXECUTION_DELAY, 0, QUORUM_PERCENT)
    config = (DAO_NAME, DAO_SYMBOL, [member for member, _ in DAO_MEMBERS],
              [shares for _, shares in DAO_MEMBERS], [token], dao_settings, b"\x01" * 32)
    sender = TransactionSender(web3, PUBLISHER, ErrorDecoder([load_abi("DataDAOFactory")]))
    sent = sender.send(factory.functions.createDAO(config), "create the DataDAO")
    (created,) = factory.events.DAOCreated().process_receipt(sent.receipt, errors=DISCARD)
    return str(created["args"]["dao"])


def write_demo_file(data_dir: Path, name: str, content: bytes) -> Path:
    path = data_dir / "demo" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return path


def prepare_dao_and_compute(settings: Settings, data_dir: Path) -> dict[str, object]:
    """The algorithm (published), the DAO (created) and the DAO's dataset (uploaded; its
    publish call returned as a proposal for the runner to propose in the dApp)."""
    algorithm_path = write_demo_file(data_dir, str(ALGORITHM["file"]), ALGORITHM_SOURCE.encode())
    algorithm = publish(settings, algorithm_path, ALGORITHM)
    algorithm_id = int(algorithm["asset_id"])  # type: ignore[call-overload]
    wait_indexed(settings.resolved_gateway_public_url, algorithm_id)
    dao = create_dao(settings)
    csv_text = harbour_csv()
    dataset_path = write_demo_file(data_dir, str(DAO_DATASET["file"]), csv_text.encode())
    proposal = publish(settings, dataset_path, DAO_DATASET, dao=dao)
    return {
        "dao": {"address": dao, "name": DAO_NAME, "symbol": DAO_SYMBOL,
                "members": [{"address": member, "shares": str(shares)}
                            for member, shares in DAO_MEMBERS],
                "votingDelay": VOTING_DELAY, "votingPeriod": VOTING_PERIOD,
                "executionDelay": EXECUTION_DELAY,
                "proposal": {"target": proposal["target"], "calldata": proposal["calldata"],
                             "description": proposal["description"]},
                "dataset": {"title": DAO_DATASET["title"], "file": DAO_DATASET["file"]}},
        "compute": {"algorithm": {"id": algorithm_id, "title": ALGORITHM["title"]},
                    "provider": dev_account(DEV_PROVIDER_INDEX).address,
                    "challengeWindow": challenge_window(settings),
                    "expected": expected_summary(csv_text)},
    }


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
            content = demo_bytes(str(asset["file"]), int(asset["size"]))  # type: ignore[call-overload]
            path = write_demo_file(data_dir, str(asset["file"]), content)
            published = publish(settings, path, asset)
            wait_indexed(url, int(published["asset_id"]))  # type: ignore[call-overload]
            assets.append({"id": published["asset_id"], "title": asset["title"],
                           "file": asset["file"], "sha256": hashlib.sha256(content).hexdigest()})
        say(f"published {len(assets)} demo assets in {time.monotonic() - started:.1f} s total")
        extra = prepare_dao_and_compute(settings, data_dir)
        say(f"algorithm, DataDAO and its dataset ready in {time.monotonic() - started:.1f} s total")
        demo = read_demo_assets(settings)  # `up` seeded the demo model: paid calls use it
        if demo is not None and demo.model is not None:
            extra["model"] = {"id": demo.model, "price": str(settings.invoke_price)}
        print(json.dumps({
            "gateway": url, "rpc": settings.chain_rpc_url, "chainId": settings.chain_id,
            "buyer": BUYER.address, "publisher": PUBLISHER.address, "assets": assets,
            **extra, "logs": str(data_dir / "logs"),
            "cliEnv": {**settings_env(settings), "DAPP_KEYSTORE_PASSWORD": PASSWORD},
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
