"""Keys that survive a gateway (issue 16): a content key sealed to several gateways and to the
publisher's recovery key; the publisher decrypting their own content from IPFS with it (no
gateway); and `datadao reseal` sealing an existing asset to a gateway added afterwards, in a
new version over the same content CID, which that gateway then serves to a licensee.

Real ganache, Kubo and two gateway subprocesses with keys of their own; the CLI as a
subprocess, as a publisher runs it (its calls are what takes the time: one asset, published
once, serves most tests)."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector
from web3.exceptions import ContractLogicError

from dapp.chain.accounts import Keystore
from dapp.chain.deployments import load_deployment
from dapp.crypto.recovery import (
    RecoveryKeyFileError,
    WrongRecoveryPassword,
    create_recovery_key,
    unlock_recovery_key,
)
from dapp.crypto.recovery import recovery_public_key as _recovery_public_key
from dapp.crypto.sealing import GatewayKeyPair, SealedKeyError, open_sealed_key
from dapp.ipfs.cid import cid_to_chain
from dapp.metadata import AssetMetadata
from dapp.publishing.gateways import NotAProvider, provider_gateway_urls
from dapp.publishing.recovery import AlreadySealed, recovered_content_key, resealed_metadata
from tests.dapp.conftest import (
    CHAIN_ID,
    Chain,
    Gateway,
    Kubo,
    make_settings,
    start_gateway,
)
from tests.dapp.helpers.gateway import assert_problem, session
from tests.dapp.helpers.publishing import (
    BUYER,
    PASSWORD,
    Market,
    new_market,
    register_provider,
    write_file,
)


@pytest.fixture(scope="module")
def market(chain: Chain, kubo: Kubo, deployments_file: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Market:
    created = new_market(chain, kubo, deployments_file, tmp_path_factory.mktemp("recovery"))
    made = created.cli_json("keys", "recovery", "create")
    assert made["public_key"]
    return created


def _gateway(chain: Chain, kubo: Kubo, deployments_file: Path, base: Path) -> Iterator[Gateway]:
    settings = make_settings(base, chain, kubo, deployments_file=deployments_file)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


@pytest.fixture(scope="module")
def gateway_a(chain: Chain, kubo: Kubo, deployments_file: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from _gateway(chain, kubo, deployments_file, tmp_path_factory.mktemp("gateway-a"))


@pytest.fixture(scope="module")
def gateway_b(chain: Chain, kubo: Kubo, deployments_file: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from _gateway(chain, kubo, deployments_file, tmp_path_factory.mktemp("gateway-b"))


RECOVERY_FILE = Path("keystore") / "recovery" / "recovery-key.json"


@dataclass(frozen=True)
class Sealed:
    """One file published with `--gateway A --seal-to HOSTILE` (and the recovery key)."""

    published: dict[str, Any]
    source: Path
    sha256: str
    hostile: GatewayKeyPair


@pytest.fixture(scope="module")
def sealed(market: Market, gateway_a: Gateway,
           tmp_path_factory: pytest.TempPathFactory) -> Sealed:
    source = tmp_path_factory.mktemp("sealed") / "survey.bin"
    digest = write_file(source, 200_000)
    hostile = GatewayKeyPair.generate()
    published = market.publish(source, "--gateway", gateway_a.url,
                               "--seal-to", hostile.public_key_b64)
    return Sealed(published, source, digest, hostile)


def recovery_public_key(market: Market) -> str:
    return _recovery_public_key(market.data_dir / RECOVERY_FILE)


def gateway_key(gateway: Gateway) -> str:
    return str(httpx.get(f"{gateway.url}/v1/gateway", timeout=10).json()["public_key"])


def metadata_of(market: Market, metadata_cid: str) -> AssetMetadata:
    with market.ipfs() as ipfs:
        return AssetMetadata.from_json(ipfs.cat_bytes(metadata_cid))


def test_publish_seals_the_content_key_to_each_gateway_given_and_to_the_recovery_key(
    market: Market, gateway_a: Gateway, sealed: Sealed
) -> None:
    wanted = [sealed.hostile.public_key_b64, gateway_key(gateway_a),  # keys, then URLs
              recovery_public_key(market)]
    assert sealed.published["sealed_to"] == wanted
    metadata = metadata_of(market, sealed.published["metadata_cid"])
    assert [k.gateway_public_key for k in metadata.sealed_keys] == wanted
    gateway_secret = GatewayKeyPair.load(gateway_a.settings.gateway_key_file)
    assert open_sealed_key(metadata.sealed_keys[1].sealed_key, gateway_secret) == \
        open_sealed_key(metadata.sealed_keys[0].sealed_key, sealed.hostile)


def test_publisher_decrypts_their_content_from_ipfs_with_the_recovery_key_and_no_gateway(
    market: Market, sealed: Sealed, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    # No --gateway: the market's environment names a gateway port nothing listens on.
    done = market.cli_json("decrypt", str(sealed.published["asset_id"]), "-o", str(target))
    assert done["verified"] is True and done["version"] == 1
    assert Path(done["path"]) == target / "survey.bin"
    assert hashlib.sha256((target / "survey.bin").read_bytes()).hexdigest() == sealed.sha256
    assert sorted(p.name for p in target.iterdir()) == ["survey.bin"]  # no .part left
    with pytest.raises(WrongRecoveryPassword):
        unlock_recovery_key(market.data_dir / RECOVERY_FILE, "not the password")


def test_reseal_lets_a_gateway_added_afterwards_serve_the_asset_to_a_licensee(
    market: Market, gateway_a: Gateway, gateway_b: Gateway, tmp_path: Path
) -> None:
    source = tmp_path / "stations.bin"
    expected = write_file(source, 300_000)
    published = market.publish(source, "--gateway", gateway_a.url)
    asset_id = int(published["asset_id"])
    market.cli_json("license", "buy", str(asset_id), "1", DAPP_ACCOUNT="buyer")
    url_b = f"{gateway_b.url}/v1/assets/{asset_id}/content"
    assert_problem(httpx.get(url_b, headers=session(gateway_b, BUYER), timeout=30), 409,
                   "not-sealed-to-gateway")

    provider = register_provider(market, gateway_b.url)  # B, picked from the directory
    resealed = market.cli_json("reseal", str(asset_id), "--provider", provider)
    assert resealed["version"] == 2
    assert resealed["content_cid"] == published["content_cid"]  # nothing uploaded again
    assert resealed["added"] == [gateway_key(gateway_b)]
    assert resealed["sealed_to"] == [*published["sealed_to"], gateway_key(gateway_b)]
    content_cid, metadata_cid, _at = market.registry().functions.version(asset_id, 2).call()
    assert tuple(content_cid) == cid_to_chain(published["content_cid"])
    assert tuple(metadata_cid) == cid_to_chain(resealed["metadata_cid"])

    target = tmp_path / "from-b.bin"  # the licensee's own client, at the new gateway
    market.cli_json("download", str(asset_id), "-o", str(target), "--gateway", gateway_b.url,
                    DAPP_ACCOUNT="buyer")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected
    from_a = httpx.get(f"{gateway_a.url}/v1/assets/{asset_id}/content",
                       headers=session(gateway_a, BUYER), timeout=30)
    assert from_a.status_code == 200  # the old gateway keeps serving it
    assert hashlib.sha256(from_a.content).hexdigest() == expected

    with pytest.raises(NotAProvider):
        provider_gateway_urls(market.web3, load_deployment(market.deployments_file, CHAIN_ID),
                              [Account.create().address])
    metadata = metadata_of(market, resealed["metadata_cid"])
    recovery = unlock_recovery_key(market.data_dir / RECOVERY_FILE, PASSWORD)
    with pytest.raises(AlreadySealed):
        resealed_metadata(metadata, recovered_content_key(metadata, recovery),
                          [gateway_key(gateway_b)])


def test_stranger_reseals_someone_elses_asset_and_is_refused_by_the_client_and_the_chain(
    market: Market, gateway_b: Gateway, sealed: Sealed
) -> None:
    asset_id = int(sealed.published["asset_id"])
    versions = market.registry().functions.assetInfo(asset_id).call()[3]
    refused = market.cli("reseal", str(asset_id), "--gateway", gateway_b.url,
                         DAPP_ACCOUNT="buyer")
    assert refused.returncode != 0
    assert "belongs to" in refused.stderr and "owner" in refused.stderr

    # Whatever a client does, the registry's addVersion reverts for anyone but the owner.
    registry = market.registry()
    with pytest.raises(ContractLogicError) as reverted:
        registry.functions.addVersion(asset_id, cid_to_chain(sealed.published["content_cid"]),
                                      cid_to_chain(sealed.published["metadata_cid"])
                                      ).call({"from": BUYER.address})
    selector = function_signature_to_4byte_selector("NotAssetOwner(uint256,address)")
    assert str(reverted.value.data).startswith("0x" + selector.hex())
    assert registry.functions.assetInfo(asset_id).call()[3] == versions


def test_hostile_gateway_in_the_list_opens_its_own_box_only(
    market: Market, sealed: Sealed
) -> None:
    metadata = metadata_of(market, sealed.published["metadata_cid"])
    boxes = {k.gateway_public_key: k.sealed_key for k in metadata.sealed_keys}
    content_key = open_sealed_key(boxes.pop(sealed.hostile.public_key_b64), sealed.hostile)
    assert len(boxes) == 2
    for other in boxes.values():  # the gateway's and the recovery key's boxes stay shut
        with pytest.raises(SealedKeyError):
            open_sealed_key(other, sealed.hostile)
    ephemeral = {base64.b64decode(k.sealed_key)[:32] for k in metadata.sealed_keys}
    assert len(ephemeral) == 3  # a fresh ephemeral key per box: no box says anything of another
    recovery = unlock_recovery_key(market.data_dir / RECOVERY_FILE, PASSWORD)
    assert open_sealed_key(boxes[recovery.public_key_b64], recovery) == content_key


def test_recovery_key_never_leaves_the_client(
    market: Market, gateway_a: Gateway, sealed: Sealed
) -> None:
    path = market.data_dir / RECOVERY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = bytes(unlock_recovery_key(path, PASSWORD)._private_key)
    encodings = [secret.hex(), base64.b64encode(secret).decode()]
    shown = path.read_text()  # encrypted at rest
    shown += metadata_of(market, sealed.published["metadata_cid"]).to_canonical_json().decode()
    shown += json.dumps(sealed.published)
    shown += (Path(gateway_a.settings.data_dir) / "gateway.log").read_text()
    assert not any(text in shown for text in encodings)
    assert "recovery-key" not in {e.name for e in Keystore(market.data_dir / "keystore").list()}


def test_recovery_key_is_created_once_and_a_missing_one_is_named(
    market: Market, tmp_path: Path
) -> None:
    path = market.data_dir / RECOVERY_FILE
    before = path.read_bytes()
    with pytest.raises(RecoveryKeyFileError, match="already exists"):
        create_recovery_key(path, PASSWORD)
    assert path.read_bytes() == before  # the key assets are sealed to is never replaced
    missing = market.cli("decrypt", "1", "-o", str(tmp_path / "x.bin"),
                         DAPP_KEYSTORE_DIR=str(tmp_path / "empty-keystore"))
    assert missing.returncode == 2, missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "no recovery key" in missing.stderr and "keys recovery create" in missing.stderr
    assert not (tmp_path / "x.bin").exists()


def test_reseal_of_an_asset_published_without_the_recovery_key_says_why_not(
    market: Market, gateway_a: Gateway, gateway_b: Gateway, tmp_path: Path
) -> None:
    source = tmp_path / "old-style.bin"
    write_file(source, 1_000)
    published = market.publish(source, "--gateway", gateway_a.url, "--no-recovery")
    assert published["sealed_to"] == [gateway_key(gateway_a)]  # the single-entry form
    refused = market.cli("reseal", str(published["asset_id"]), "--gateway", gateway_b.url)
    assert refused.returncode == 2, refused.stderr
    assert "not sealed to your recovery key" in refused.stderr
    assert market.registry().functions.assetInfo(
        int(published["asset_id"])).call()[3] == 1
