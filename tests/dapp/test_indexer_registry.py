"""The AssetRegistry's events into the catalog, on the session ganache with the contracts the
real deploy script deployed: a full publish → sell → grant → stake → transfer → withdraw
flow checked against the contract's own views, idempotent re-runs, metadata from Kubo, and a
reorg made with evm_snapshot/evm_revert that the catalog follows to the new branch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete
from web3.logs import DISCARD

from dapp.chain.contracts import load_abi
from dapp.indexer.handlers import default_handlers
from dapp.indexer.handlers.registry import IGNORED
from dapp.indexer.pins import Pinner
from dapp.ipfs.cid import cid_to_chain
from dapp.ipfs.client import IpfsClient
from dapp.store.catalog import Catalog, CatalogQuery
from dapp.store.models import (
    PERPETUAL,
    CidMetadata,
    License,
    PaymentToken,
    PayoutBalance,
    Pin,
    RegistryParam,
    RewardClaim,
    Stake,
    Withdrawal,
)
from tests.dapp.conftest import Chain, Kubo
from tests.dapp.helpers.registry_index import (
    ALGORITHM,
    COMPUTE,
    DATASET,
    DAY,
    DDT,
    DOWNLOAD,
    MODEL,
    Exchange,
    assert_rebuild_and_other_ranges_agree,
    event_state,
    fake_cid,
    make_indexer,
    rows,
)


# -- the chain side ----------------------------------------------------------------------------
def metadata_document(title: str, tags: list[str], kind: str = "dataset") -> bytes:
    return json.dumps({
        "schema": "datadao/asset-metadata@1", "title": title, "description": f"about {title}",
        "kind": kind, "tags": tags, "license": "CC-BY-4.0", "size": 12,
        "files": [{"path": "data.csv", "size": 12, "sha256": "0" * 64}],
        "content": {"encrypted": False, "plaintext_size": 12},
    }).encode()


# -- the indexer side --------------------------------------------------------------------------
def assert_matches_chain(ex: Exchange, engine: Engine, asset_ids: list[int],
                         accounts: list[str]) -> None:
    """The index agrees with the registry's own views on everything it keeps."""
    registry, catalog = ex.registry.functions, Catalog(engine)
    for asset_id in asset_ids:
        detail = catalog.get_asset(asset_id)
        assert detail is not None
        info = registry.assetInfo(asset_id).call()
        summary = detail.summary
        assert summary.owner == registry.ownerOf(asset_id).call()
        assert (["dataset", "model", "algorithm"][info[0]], summary.retired,
                summary.version_count) == (summary.kind, info[1], info[3])
        assert len(summary.offers) == info[4]
        for offer in summary.offers:
            token, price, duration, scope, active = registry.offer(asset_id,
                                                                   offer.offer_id).call()
            assert (offer.token, offer.price, offer.duration, offer.scope, offer.active) == (
                token, price, duration, ["download", "compute"][scope], active)
        assert summary.total_staked == registry.totalStaked(asset_id).call()
        warming_total = 0
        for stake in rows(engine, Stake, asset_id=asset_id):
            active, unbonding, available_at = registry.stakeOf(asset_id, stake.curator).call()
            assert (stake.amount, stake.unbonding, stake.unbonding_available_at or 0) == (
                active, unbonding, available_at)
            assert (stake.warming, stake.warming_active_at or 0) == tuple(
                registry.warmingStake(asset_id, stake.curator).call())
            warming_total += stake.warming
        assert summary.warming_staked == warming_total
        share, pending = summary.curator_share_at(ex.now())
        assert share == info[2]
        assert (pending or (share, 0)) == tuple(registry.pendingCuratorShare(asset_id).call())
        for licence in rows(engine, License, asset_id=asset_id):
            scope = ["download", "compute"].index(licence.scope)
            expiry = registry.licenseExpiry(asset_id, licence.licensee, scope).call()
            assert licence.expires_at == (None if expiry == PERPETUAL else expiry)
    for account in accounts:
        balance = rows(engine, PayoutBalance, account=account, token=ex.token.address)
        indexed = balance[0].credited - balance[0].withdrawn if balance else 0
        assert indexed == registry.payoutBalance(account, ex.token.address).call(), account


# -- tests -------------------------------------------------------------------------------------
def test_every_registry_event_is_handled_or_ignored_on_purpose() -> None:
    events = {e["name"] for e in load_abi("AssetRegistry") if e["type"] == "event"}
    handled = default_handlers().events_of("AssetRegistry")
    assert events - handled == IGNORED
    assert handled <= events


@dataclass
class Flow:
    dataset: int
    model: int
    retired: int
    publisher: str
    buyer: str
    curator: str
    grantee: str
    new_owner: str
    cids: dict[str, str]


@pytest.fixture(scope="module")
def flow(exchange: Exchange, kubo: Kubo) -> Iterator[Flow]:
    ex = exchange
    treasury, publisher, buyer, curator, grantee, new_owner = ex.accounts[:6]
    with IpfsClient(kubo.api_url, timeout_seconds=30) as ipfs:
        def put(data: bytes) -> str:
            return ipfs.add_bytes(data, pin=False).cid

        cids = {
            "content1": put(b"rainfall v1"), "meta1": put(metadata_document(
                "Rainfall 1990-2020", ["weather", "climate"])),
            "content2": put(b"rainfall v2"), "meta2": put(metadata_document(
                "Rainfall 1990-2024", ["weather", "climate", "daily"])),
            "content3": put(b"a model"), "meta3": put(json.dumps(
                {"title": "Nowcasting model", "tags": ["ML"]}).encode()),  # not the schema
            "content4": put(b"an algorithm"), "meta4": put(b"\x00 not json"),
        }
    dataset = ex.publish(publisher, DATASET, cids["content1"], cids["meta1"], 1000,
                         [(10 * DDT, 30 * DAY, DOWNLOAD), (25 * DDT, 0, COMPUTE)])
    model = ex.publish(publisher, MODEL, cids["content3"], cids["meta3"], 0,
                       [(5 * DDT, 0, DOWNLOAD)])
    retired = ex.publish(publisher, ALGORITHM, cids["content4"], cids["meta4"], 0,
                         [(1 * DDT, 0, COMPUTE)])
    registry = ex.registry.functions
    ex.send(registry.addVersion(dataset, cid_to_chain(cids["content2"]),
                                cid_to_chain(cids["meta2"])), publisher)
    ex.send(registry.setOffer(dataset, 1, (ex.token.address, 12 * DDT, 30 * DAY, DOWNLOAD)),
            publisher)
    ex.send(registry.setOffer(dataset, 3, (ex.token.address, 3 * DDT, DAY, COMPUTE)), publisher)
    ex.send(registry.setOfferActive(dataset, 2, False), publisher)
    ex.send(registry.stake(dataset, 100 * DDT), curator)
    ex.rpc("evm_increaseTime", 3 * DAY + 1)  # the warm-up: only then does the stake earn
    ex.rpc("evm_mine")
    ex.send(registry.activateStake(dataset, curator), buyer)  # anyone may
    ex.send(registry.stake(dataset, 30 * DDT), new_owner)  # warms up, never activated here
    ex.buy(dataset, 1, buyer)
    ex.buy(dataset, 1, buyer)  # extends the running license
    ex.buy(dataset, 3, buyer, licensee=grantee)
    ex.buy(model, 1, buyer)
    ex.send(registry.grant(dataset, grantee, DOWNLOAD, ex.now() + 7 * DAY), publisher)
    ex.send(registry.grant(dataset, buyer, DOWNLOAD, PERPETUAL), publisher)
    ex.send(registry.revokeGrant(dataset, buyer, DOWNLOAD), publisher)  # the purchase stays
    ex.send(registry.requestUnstake(dataset, 40 * DDT), curator)
    ex.send(registry.claim(dataset), curator)
    ex.send(registry.setCuratorShare(dataset, 2000), publisher)  # a raise: at once
    ex.send(registry.setCuratorShare(dataset, 1500), publisher)  # a cut: one delay later
    ex.send(registry.requestUnstake(dataset, 10 * DDT), new_owner)  # from the warming stake
    ex.send(ex.registry.functions.transferFrom(publisher, new_owner, model), publisher)
    ex.buy(model, 1, buyer)  # paid to the new owner
    ex.send(registry.retire(retired), publisher)
    ex.send(registry.withdraw(ex.token.address), publisher)
    ex.rpc("evm_increaseTime", 3 * DAY + 1)
    ex.rpc("evm_mine")
    ex.send(registry.withdrawStake(dataset), curator)
    ex.send(registry.depositFor(grantee, ex.token.address, 7 * DDT), treasury)
    yield Flow(dataset=dataset, model=model, retired=retired, publisher=publisher, buyer=buyer,
               curator=curator, grantee=grantee, new_owner=new_owner, cids=cids)


def test_the_catalog_follows_a_full_registry_flow(chain: Chain, deployments_file: Path,
                                                  exchange: Exchange, flow: Flow,
                                                  tmp_path: Path) -> None:
    ex, f = exchange, flow
    indexer = make_indexer(chain, deployments_file, tmp_path, indexer_max_range=7)
    report = indexer.run_once()
    assert report.events > 0 and report.last_block == ex.web3.eth.block_number
    engine, catalog = indexer.db, Catalog(indexer.db)
    assert_matches_chain(ex, engine, [f.dataset, f.model, f.retired],
                         [ex.accounts[0], f.publisher, f.new_owner, f.grantee])

    dataset = catalog.get_asset(f.dataset)
    assert dataset is not None
    summary = dataset.summary
    assert (summary.kind, summary.owner, summary.version_count, summary.retired) == (
        "dataset", f.publisher, 2, False)
    assert summary.metadata_cid == f.cids["meta2"]  # the latest version's
    assert [(v.index, v.content_cid, v.metadata_cid) for v in dataset.versions] == [
        (1, f.cids["content1"], f.cids["meta1"]), (2, f.cids["content2"], f.cids["meta2"])]
    assert [(o.offer_id, o.price, o.scope, o.active) for o in summary.offers] == [
        (1, 12 * DDT, "download", True), (2, 25 * DDT, "compute", False),
        (3, 3 * DDT, "compute", True)]
    assert (summary.sales, summary.stakers, summary.total_staked) == (3, 1, 60 * DDT)
    assert summary.warming_staked == 20 * DDT
    assert (summary.curator_share_bps, summary.pending_curator_share_bps) == (2000, 1500)
    assert dataset.stats.revenue == {ex.token.address: 27 * DDT}
    assert (dataset.stats.stakers, dataset.stats.total_staked) == (1, 60 * DDT)
    stake = rows(engine, Stake, asset_id=f.dataset, curator=f.curator)[0]
    assert (stake.amount, stake.unbonding, stake.unbonding_available_at) == (60 * DDT, 0, None)
    assert (stake.warming, stake.warming_active_at) == (0, None)
    warming = rows(engine, Stake, asset_id=f.dataset, curator=f.new_owner)[0]
    assert (warming.amount, warming.warming, warming.unbonding) == (0, 20 * DDT, 10 * DDT)
    claims = rows(engine, RewardClaim, asset_id=f.dataset, curator=f.curator)
    assert len(claims) == 1 and claims[0].amount > 0

    model = catalog.get_asset(f.model)
    assert model is not None
    assert (model.summary.owner, model.summary.sales) == (f.new_owner, 2)
    assert catalog.get_asset(f.retired).summary.retired  # type: ignore[union-attr]
    listed = [a.asset_id for a in catalog.list_assets(CatalogQuery(page_size=100)).items]
    assert f.dataset in listed and f.model in listed and f.retired not in listed
    assert f.model in [a.asset_id for a in catalog.list_assets(
        CatalogQuery(kind="model", owner=f.new_owner)).items]
    assert f.model not in [a.asset_id for a in catalog.list_assets(
        CatalogQuery(owner=f.publisher, page_size=100)).items]

    buyer = {(lic.asset_id, lic.scope): lic for lic in catalog.licenses_of(f.buyer)}
    assert buyer[(f.dataset, "download")].source == "purchase"  # the revoked grant is gone
    assert buyer[(f.model, "download")].expires_at is None  # perpetual
    grantee = {(lic.asset_id, lic.scope): lic for lic in catalog.licenses_of(f.grantee)}
    assert grantee[(f.dataset, "download")].source == "grant"
    assert grantee[(f.dataset, "compute")].source == "purchase"  # bought for them by buyer

    withdrawal = rows(engine, Withdrawal, account=f.publisher)
    assert withdrawal and withdrawal[-1].recipient == f.publisher
    params = {r.name: r.value for r in rows(engine, RegistryParam)}
    assert params["treasury"] == ex.accounts[0] and params["protocol_fee_bps"] == "250"
    assert rows(engine, PaymentToken, token=ex.token.address)[0].allowed
    queued = {r.cid: r.kind for r in rows(engine, Pin)}
    assert {queued[f.cids[k]] for k in ("content1", "content2", "content3")} == {"content"}
    assert {queued[f.cids[k]] for k in ("meta1", "meta2", "meta3", "meta4")} == {"metadata"}


def test_a_new_stake_warms_up_and_earns_once_activated(chain: Chain, deployments_file: Path,
                                                       exchange: Exchange, tmp_path: Path
                                                       ) -> None:
    """What a curator sees in the catalog: a stake that does not earn yet and from when it
    will, then the same stake earning once someone activated it; and a cut of the curators'
    share announced one delay ahead."""
    ex = exchange
    publisher, curator, other = ex.accounts[1], ex.accounts[6], ex.accounts[7]
    registry = ex.registry.functions
    asset = ex.publish(publisher, DATASET, fake_cid("warm-c"), fake_cid("warm-m"), 1000,
                       [(4 * DDT, 0, DOWNLOAD)])
    receipt = ex.send(registry.stake(asset, 50 * DDT), curator)
    (event,) = ex.registry.events.Staked().process_receipt(receipt, errors=DISCARD)
    active_at = event["args"]["activeAt"]
    ex.send(registry.setCuratorShare(asset, 400), publisher)  # a cut: scheduled
    indexer = make_indexer(chain, deployments_file, tmp_path)
    indexer.run_once()
    stake = rows(indexer.db, Stake, asset_id=asset, curator=curator)[0]
    assert (stake.amount, stake.warming, stake.warming_active_at) == (0, 50 * DDT, active_at)
    summary = Catalog(indexer.db).get_asset(asset).summary  # type: ignore[union-attr]
    assert (summary.total_staked, summary.warming_staked, summary.stakers) == (0, 50 * DDT, 0)
    share, pending = summary.curator_share_at(ex.now())
    assert share == 1000 and pending == tuple(registry.pendingCuratorShare(asset).call())
    assert pending[0] == 400

    ex.rpc("evm_increaseTime", active_at - ex.now() + 60)  # the warm-up and the cut's notice
    ex.rpc("evm_mine")
    ex.send(registry.activateStake(asset, curator), other)  # anyone may
    indexer.run_once()
    stake = rows(indexer.db, Stake, asset_id=asset, curator=curator)[0]
    assert (stake.amount, stake.warming, stake.warming_active_at) == (50 * DDT, 0, None)
    summary = Catalog(indexer.db).get_asset(asset).summary  # type: ignore[union-attr]
    assert (summary.total_staked, summary.warming_staked, summary.stakers) == (50 * DDT, 0, 1)
    assert summary.curator_share_at(ex.now()) == (400, None)  # the cut is due: in force
    assert registry.assetInfo(asset).call()[2] == 400
    ex.send(registry.setCuratorShare(asset, 300), publisher)  # cut again: from 400, not 1000
    indexer.run_once()
    summary = Catalog(indexer.db).get_asset(asset).summary  # type: ignore[union-attr]
    assert summary.curator_share_at(ex.now())[0] == 400
    assert_matches_chain(ex, indexer.db, [asset], [])


def test_indexing_again_or_in_other_ranges_changes_nothing(chain: Chain, deployments_file: Path,
                                                           flow: Flow, tmp_path: Path) -> None:
    first = make_indexer(chain, deployments_file, tmp_path, "one.db")
    first.run_once()
    before = event_state(first.db)
    again = first.run_once()
    assert (again.batches, again.events) == (0, 0)
    assert event_state(first.db) == before
    assert_rebuild_and_other_ranges_agree(first, chain, deployments_file, tmp_path, 2)


def test_metadata_fills_title_description_and_tags(chain: Chain, deployments_file: Path,
                                                   flow: Flow, kubo: Kubo,
                                                   tmp_path: Path) -> None:
    indexer = make_indexer(chain, deployments_file, tmp_path)
    indexer.run_once()
    with indexer.db.begin() as connection:  # other tests' assets on this chain: not ours
        connection.execute(delete(Pin).where(Pin.cid.not_in(flow.cids.values())))
    with IpfsClient(kubo.api_url, timeout_seconds=30) as ipfs:
        pinner = Pinner(indexer.db, ipfs)
        while pinner.run_once().pinned:
            pass
    catalog, f = Catalog(indexer.db), flow
    dataset = catalog.get_asset(f.dataset)
    assert dataset is not None
    assert (dataset.summary.title, dataset.summary.tags) == (
        "Rainfall 1990-2024", ["climate", "daily", "weather"])
    assert dataset.summary.description == "about Rainfall 1990-2024"
    assert dataset.metadata is not None and dataset.metadata["license"] == "CC-BY-4.0"
    found = catalog.list_assets(CatalogQuery(tag="daily", text="rainfall", page_size=100))
    assert f.dataset in [a.asset_id for a in found.items]
    sloppy = rows(indexer.db, CidMetadata, cid=f.cids["meta3"])[0]
    assert sloppy.error is None and "asset metadata is invalid" in sloppy.schema_error
    assert catalog.get_asset(f.model).summary.title == "Nowcasting model"  # type: ignore
    broken = rows(indexer.db, CidMetadata, cid=f.cids["meta4"])[0]
    assert broken.error and broken.document is None
    assert catalog.get_asset(f.retired).summary.title == ""  # type: ignore[union-attr]


def test_a_reorg_moves_the_catalog_to_the_new_branch(chain: Chain, deployments_file: Path,
                                                     exchange: Exchange, flow: Flow,
                                                     tmp_path: Path) -> None:
    ex, f = exchange, flow
    registry = ex.registry.functions
    indexer = make_indexer(chain, deployments_file, tmp_path, indexer_max_range=5)
    indexer.run_once()
    snapshot = ex.rpc("evm_snapshot")
    # the branch that will vanish: a new asset, a sale, a stake, a transfer, a version
    gone = ex.publish(f.publisher, DATASET, fake_cid("gone-c"), fake_cid("gone-m"), 500,
                      [(2 * DDT, 0, DOWNLOAD)])
    ex.buy(gone, 1, f.buyer)
    ex.buy(f.dataset, 3, f.buyer)
    ex.send(registry.stake(f.dataset, 5 * DDT), f.grantee)
    ex.send(ex.registry.functions.transferFrom(f.new_owner, f.grantee, f.model), f.new_owner)
    ex.send(registry.addVersion(f.dataset, cid_to_chain(fake_cid("v3-c")),
                                cid_to_chain(fake_cid("v3-m"))), f.publisher)
    indexer.run_once()
    catalog = Catalog(indexer.db)
    assert catalog.get_asset(gone) is not None
    assert catalog.get_asset(f.model).summary.owner == f.grantee  # type: ignore[union-attr]

    assert ex.rpc("evm_revert", snapshot)
    # the branch that stays: other transactions, and fewer of them
    ex.send(registry.grant(f.dataset, f.new_owner, COMPUTE, ex.now() + DAY), f.publisher)
    ex.send(registry.setOffer(f.dataset, 3, (ex.token.address, 4 * DDT, DAY, COMPUTE)),
            f.publisher)
    report = indexer.run_once()
    assert report.rollbacks == 1 and report.last_block == ex.web3.eth.block_number

    assert catalog.get_asset(gone) is None
    dataset = catalog.get_asset(f.dataset)
    model = catalog.get_asset(f.model)
    assert dataset is not None and model is not None
    assert (model.summary.owner, dataset.summary.version_count) == (f.new_owner, 2)
    assert (dataset.summary.sales, dataset.summary.total_staked) == (3, 60 * DDT)
    assert dataset.summary.warming_staked == 20 * DDT
    assert dataset.summary.offers[2].price == 4 * DDT
    ours = (f.dataset, f.model)  # other suites buy licenses for the same dev accounts
    assert [lic.source for lic in catalog.licenses_of(f.new_owner) if lic.asset_id in ours] == [
        "grant"]
    assert_matches_chain(ex, indexer.db, [f.dataset, f.model, f.retired],
                         [ex.accounts[0], f.publisher, f.new_owner, f.grantee, f.buyer])
    fresh = make_indexer(chain, deployments_file, tmp_path, "fresh.db")
    fresh.run_once()
    assert event_state(indexer.db) == event_state(fresh.db)


def test_the_catalog_shows_each_datasets_compute_policy(chain: Chain, deployments_file: Path,
                                                        exchange: Exchange, tmp_path: Path
                                                        ) -> None:
    """Who may run what on a dataset, as its owner set it on chain: listed algorithms (with
    their pin), removed ones gone, the any-algorithm switch and the result cap; rebuilt from
    the stored events and indexed in small ranges, the same."""
    ex = exchange
    publisher = ex.accounts[1]
    registry = ex.registry.functions
    dataset = ex.publish(publisher, DATASET, fake_cid("pol-c"), fake_cid("pol-m"), 0,
                         [(DDT, 0, COMPUTE)])
    algorithms = [ex.publish(publisher, ALGORITHM, fake_cid(f"pol-a{i}"),
                             fake_cid(f"pol-am{i}"), 0, [(0, 0, COMPUTE)]) for i in range(3)]
    indexer = make_indexer(chain, deployments_file, tmp_path)
    indexer.run_once()
    policy = Catalog(indexer.db).get_asset(dataset).compute  # type: ignore[union-attr]
    assert policy is not None
    assert (policy.any_algorithm, policy.max_result_bytes, policy.log_tail_bytes,
            policy.trusted) == (False, None, 0, [])
    assert Catalog(indexer.db).get_asset(algorithms[0]).compute is None  # datasets only

    ex.send(registry.trustAlgorithm(dataset, algorithms[0], 0), publisher)
    ex.send(registry.trustAlgorithm(dataset, algorithms[1], 1), publisher)
    ex.send(registry.trustAlgorithm(dataset, algorithms[2], 0), publisher)
    ex.send(registry.untrustAlgorithm(dataset, algorithms[2]), publisher)
    ex.send(registry.setComputePolicy(dataset, True, 4096, 300), publisher)
    indexer.run_once()
    policy = Catalog(indexer.db).get_asset(dataset).compute  # type: ignore[union-attr]
    assert policy is not None
    assert policy.trusted == [(algorithms[0], 0), (algorithms[1], 1)]
    assert (policy.any_algorithm, policy.max_result_bytes, policy.log_tail_bytes) == \
        (True, 4096, 300)
    for algorithm, version in policy.trusted:  # what the chain says
        assert tuple(registry.trustedAlgorithm(dataset, algorithm).call()) == (True, version)
    assert tuple(registry.trustedAlgorithm(dataset, algorithms[2]).call()) == (False, 0)
    ex.send(registry.setComputePolicy(dataset, False, 0, 0), publisher)
    indexer.run_once()
    policy = Catalog(indexer.db).get_asset(dataset).compute  # type: ignore[union-attr]
    assert policy is not None and (policy.any_algorithm, policy.max_result_bytes) == (False, None)
    assert_rebuild_and_other_ranges_agree(indexer, chain, deployments_file, tmp_path, 2)
