"""The demo assets `up` publishes on a fresh chain, encrypted and sealed to the local gateway,
sold by the second dev account (the first one deployed the contracts):

1. a small CSV dataset (a DOWNLOAD and a COMPUTE offer);
2. a model that answers paid calls (`datadao invoke`, or `datadao route tabular-regression`: it
   declares that task; a COMPUTE offer), served warm;
3. an algorithm that counts the dataset's rows and bytes (`datadao job start`; a cheap COMPUTE
   offer).

Their ids are written to `<data_dir>/demo/assets.json`, so the banner names them on every
start, also when a resumed chain has nothing left to seed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from web3 import Web3

from dapp.chain.accounts import dev_account
from dapp.chain.client import connect
from dapp.chain.transactions import TransactionSender
from dapp.config import Settings
from dapp.gateway.keys import load_or_create_gateway_keypair
from dapp.ipfs.client import IpfsClient
from dapp.metadata import ModelService
from dapp.publishing.exchange import Exchange, OfferTerms
from dapp.publishing.pipeline import ContentRequest, PublishPipeline

PUBLISHER_INDEX = 1
DAY = 24 * 3600
DOWNLOAD, COMPUTE = 0, 1  # IAssetRegistry.Scope
DATASET_TITLE = "Lakeside weather, June 2026"

MODEL_PY = '''\
"""Demo model: the lakeside temperature for a day of June 2026, from a line fitted to the demo
dataset by least squares. Request {"day": 12}; answer {"day": 12, "temperature_c": ...}.
Served warm (`handle`: loaded once per worker); run as a script, it answers stdin."""
import json, sys


def answer(request):
    day = float(request.get("day", 1))
    return {"day": day, "temperature_c": round(18.22 + 0.0019 * day, 2)}


def handle(body):  # the same bytes as the script's stdout
    return json.dumps(answer(json.loads(body or b"{}"))) + "\\n"


if __name__ == "__main__":
    print(json.dumps(answer(json.loads(sys.stdin.buffer.read() or b"{}"))))
'''
#: what the demo model serves (`datadao route tabular-regression` finds it)
MODEL_SERVICE = ModelService(
    tasks=["tabular-regression"],
    input_schema={"type": "object", "required": ["day"],
                  "properties": {"day": {"type": "number", "minimum": 1, "maximum": 30}}},
    output_schema={"type": "object", "required": ["day", "temperature_c"],
                   "properties": {"day": {"type": "number"},
                                  "temperature_c": {"type": "number"}}},
)

COUNT_ROWS_PY = r"""
"Demo algorithm: rows (lines) and bytes of every file of the dataset, into counts.txt."
import os, pathlib
source = pathlib.Path(os.environ["INPUT"])
files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
lines = []
for path in files:
    data = path.read_bytes()
    name = path.name if path == source else path.relative_to(source).as_posix()
    rows = data.count(b"\n")
    lines.append(f"{name}\t{rows} rows\t{len(data)} bytes")
(pathlib.Path(os.environ["OUTPUT"]) / "counts.txt").write_text("\n".join(lines) + "\n")
""".lstrip()


@dataclass(frozen=True)
class DemoAssets:
    dataset: int
    model: int | None = None
    algorithm: int | None = None


def demo_rows() -> str:
    lines = ["station,date,temperature_c,rain_mm"]
    for day in range(1, 31):
        lines.append(f"lakeside,2026-06-{day:02d},{14 + day % 9}.{day % 10},{(day * 7) % 13}")
    return "\n".join(lines) + "\n"


def write_demo_dataset(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weather.csv").write_text(demo_rows())
    (folder / "README.md").write_text(
        "# Lakeside weather, June 2026\n\nDaily temperature and rain at one station. "
        "Demo data published by `make up`.\n"
    )
    return folder


def write_demo_model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text(MODEL_PY)
    return folder / "model.py"


def write_demo_algorithm(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "count_rows.py").write_text(COUNT_ROWS_PY)
    return folder / "count_rows.py"


def demo_file(settings: Settings) -> Path:
    return settings.data_dir / "demo" / "assets.json"


def read_demo_assets(settings: Settings) -> DemoAssets | None:
    """The ids a previous seeding recorded (None before, or for a stack seeded before models
    and algorithms were: then only the dataset, #1, is known)."""
    path = demo_file(settings)
    if not path.is_file():
        return None
    try:
        return DemoAssets(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def seed_demo_assets(settings: Settings) -> DemoAssets | None:
    """Publish the demo dataset, model and algorithm unless the registry already holds an
    asset (None then)."""
    web3: Web3 = connect(settings.chain_rpc_url)
    exchange = Exchange.connect(settings, web3)
    if exchange.asset_count() > 0:
        return None
    publisher = dev_account(PUBLISHER_INDEX)
    sender = TransactionSender(web3, publisher, Exchange.error_decoder())
    gateway_key = load_or_create_gateway_keypair(settings.gateway_key_file).public_key_b64
    token = exchange.default_token
    unit = 10 ** exchange.token(token).decimals
    folder = settings.data_dir / "demo"

    def offer(price: int, duration: int, scope: int) -> OfferTerms:
        return OfferTerms(token=token, price=price, duration=duration, scope=scope)

    with IpfsClient(settings.ipfs_api_url) as ipfs:
        pipeline = PublishPipeline(ipfs, exchange.with_sender(sender))

        def publish(path: Path, kind: str, title: str, description: str, tags: tuple[str, ...],
                    offers: list[OfferTerms], service: ModelService | None = None) -> int:
            request = ContentRequest(path=path, kind=kind, title=title, description=description,
                                     tags=tags, license_text="CC-BY-4.0",
                                     gateway_keys=(gateway_key,), service=service)
            return pipeline.publish(request, curator_share_bps=1000, offers=offers).asset_id

        dataset = publish(
            write_demo_dataset(folder / "lakeside-weather"), "dataset", DATASET_TITLE,
            "Daily temperature and rain at one station (demo data).", ("weather", "demo"),
            [offer(5 * unit, 30 * DAY, DOWNLOAD), offer(20 * unit, 0, COMPUTE)])
        model = publish(
            write_demo_model(folder / "temperature-model"), "model",
            "Lakeside temperature model",
            'A line fitted to the demo weather: {"day": 12} in, the temperature out.',
            ("weather", "demo"), [offer(2 * unit, 0, COMPUTE)], MODEL_SERVICE)
        algorithm = publish(
            write_demo_algorithm(folder / "count-rows"), "algorithm", "Count rows and bytes",
            "Counts the rows and bytes of every file of a dataset (demo algorithm).",
            ("demo",), [offer(1 * unit, 0, COMPUTE)])
    # The dataset's owner lets the demo algorithm (any version) run on the demo dataset.
    exchange.with_sender(sender).trust_algorithm(dataset, algorithm, 0)
    seeded = DemoAssets(dataset=dataset, model=model, algorithm=algorithm)
    demo_file(settings).parent.mkdir(parents=True, exist_ok=True)
    demo_file(settings).write_text(json.dumps(asdict(seeded)) + "\n")
    return seeded
