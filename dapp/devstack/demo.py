"""The demo asset `up` publishes on a fresh chain: a small CSV dataset, encrypted and sealed
to the local gateway, sold by the second dev account (the first one deployed the contracts)."""

from __future__ import annotations

from pathlib import Path

from web3 import Web3

from dapp.chain.accounts import dev_account
from dapp.chain.client import connect
from dapp.chain.transactions import TransactionSender
from dapp.config import Settings
from dapp.gateway.keys import load_or_create_gateway_keypair
from dapp.ipfs.client import IpfsClient
from dapp.publishing.exchange import Exchange, OfferTerms
from dapp.publishing.pipeline import ContentRequest, PublishPipeline, PublishResult

PUBLISHER_INDEX = 1
DAY = 24 * 3600


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


def seed_demo_asset(settings: Settings) -> PublishResult | None:
    """Publish the demo dataset unless the registry already holds an asset."""
    web3: Web3 = connect(settings.chain_rpc_url)
    exchange = Exchange.connect(settings, web3)
    if exchange.asset_count() > 0:
        return None
    publisher = dev_account(PUBLISHER_INDEX)
    sender = TransactionSender(web3, publisher, Exchange.error_decoder())
    gateway_key = load_or_create_gateway_keypair(settings.gateway_key_file).public_key_b64
    token = exchange.default_token
    decimals = exchange.token(token).decimals
    offers = [
        OfferTerms(token=token, price=5 * 10**decimals, duration=30 * DAY, scope=0),
        OfferTerms(token=token, price=20 * 10**decimals, duration=0, scope=1),
    ]
    folder = write_demo_dataset(settings.data_dir / "demo" / "lakeside-weather")
    with IpfsClient(settings.ipfs_api_url) as ipfs:
        pipeline = PublishPipeline(ipfs, exchange.with_sender(sender))
        request = ContentRequest(
            path=folder, title="Lakeside weather, June 2026",
            description="Daily temperature and rain at one station (demo data).",
            tags=("weather", "demo"), license_text="CC-BY-4.0",
            gateway_keys=(gateway_key,),
        )
        return pipeline.publish(request, curator_share_bps=1000, offers=offers)
