"""The indexer's machinery on a real ganache: many small ranges, halving, confirmations,
reorgs made with evm_snapshot/evm_revert, contracts discovered on chain, refusals.

Before the exchange's contracts exist the machinery follows the `Toolchain` ERC-20: test
handlers keep a journaled balance per account and an append-only transfer list, which is
exactly the shape (running state + facts) of the real handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Engine,
    func,
    insert,
    select,
)
from web3 import Web3

from dapp.chain.events import DecodedEvent
from dapp.indexer.errors import ConcurrentIndexer, WrongChain
from dapp.indexer.writer import COPY_FROM, StateWriter
from dapp.store.db import make_engine
from dapp.store.migrate import migrate
from dapp.store.models import License, LicenseToken, RawEvent, SyncCursor, WatchedContract
from tests.dapp.conftest import (
    Chain,
    DeployedToken,
    deploy_toolchain,
    emit_transfers,
    table_dump,
)
from tests.dapp.helpers.toolchain_index import (
    BOOKKEEPING,
    ZERO,
    balances,
    indexed_balances,
    make_indexer,
    sqlite_url,
    token_handlers,
    transfers,
)


def chain_balances(web3: Web3, token: DeployedToken) -> dict[str, int]:
    result = {}
    for account in web3.eth.accounts:
        balance = token.contract.functions.balanceOf(account).call()
        if balance:
            result[account] = balance
    return result


def event_count(engine: Engine, address: str | None = None) -> int:
    query = select(func.count()).select_from(RawEvent)
    if address is not None:
        query = query.where(RawEvent.address == address)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_follows_every_transfer_through_many_small_ranges(chain: Chain, web3: Web3,
                                                          store_url: str) -> None:
    token = deploy_toolchain(web3)
    head = emit_transfers(token, range(1, 41))
    indexer = make_indexer(chain, store_url, [token], indexer_max_range=3)
    report = indexer.run_once()
    assert report.last_block == head
    assert report.batches >= (head - token.block + 1) // 3
    assert report.events == event_count(indexer.db) == 41  # the mint + 40 transfers
    assert indexed_balances(indexer.db) == chain_balances(web3, token)
    again = indexer.run_once()
    assert (again.batches, again.events) == (0, 0)
    with indexer.db.connect() as connection:
        first = connection.execute(select(RawEvent).order_by(RawEvent.block_number)).first()
    assert first is not None
    assert (first.name, first.args["from"], first.args["value"]) == ("Transfer", ZERO, 10**18)
    indexer.db.dispose()


def test_stays_the_configured_confirmations_behind_the_head(chain: Chain, web3: Web3,
                                                            tmp_path: Path) -> None:
    token = deploy_toolchain(web3)
    head = emit_transfers(token, range(1, 11))
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token], confirmations=3)
    assert indexer.run_once().last_block == head - 3
    assert event_count(indexer.db) == 1 + 10 - 3
    for _ in range(3):
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert indexer.run_once().last_block == head
    assert event_count(indexer.db) == 11


def test_halves_the_range_when_a_query_returns_too_many_logs(chain: Chain, web3: Web3,
                                                             tmp_path: Path) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, range(1, 31))
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token], indexer_max_range=64,
                           indexer_max_logs=4)
    report = indexer.run_once()
    # the range is capped at the head: 31 → 15 → 7 → 3 blocks (one log per block); a range
    # that held over half the logs a batch may take is not doubled again
    assert report.shrinks == 3
    assert event_count(indexer.db) == 31
    assert indexed_balances(indexer.db) == chain_balances(web3, token)


@pytest.mark.parametrize("new_branch", ["longer", "shorter"])
def test_a_reorg_leaves_no_orphans_and_equals_a_fresh_index(
    chain: Chain, web3: Web3, store_url: str, tmp_path: Path, new_branch: str
) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, [5, 6, 7])
    indexer = make_indexer(chain, store_url, [token], indexer_max_range=4)
    indexer.run_once()
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    emit_transfers(token, range(100, 112), to_index=2)  # the branch that will vanish
    indexer.run_once()
    assert web3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    amounts = range(200, 220) if new_branch == "longer" else range(200, 204)
    head = emit_transfers(token, amounts, to_index=3)

    report = indexer.run_once()
    assert report.rollbacks == 1
    assert report.last_block == head
    assert indexed_balances(indexer.db) == chain_balances(web3, token)
    fresh = make_indexer(chain, sqlite_url(tmp_path, "fresh.db"), [token], indexer_max_range=4)
    fresh.run_once()
    assert table_dump(indexer.db, BOOKKEEPING) == table_dump(fresh.db, BOOKKEEPING)
    with indexer.db.connect() as connection:
        hashes = set(connection.execute(select(RawEvent.block_hash)).scalars())
    assert all(web3.eth.get_block(h)["hash"].to_0x_hex() == h for h in hashes)
    indexer.db.dispose()


def test_a_contract_created_on_chain_is_followed_from_its_creation_block(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    """A handler may start following a contract (a DAO from the factory); its logs later in
    the same range are fetched and handled in chain order, earlier ones never."""
    factory, created = deploy_toolchain(web3), deploy_toolchain(web3)
    emit_transfers(created, [1, 2])  # before it is "created": not followed

    def on_create(writer: StateWriter, event: DecodedEvent) -> None:
        if event.args["value"] == 777:
            writer.watch("Toolchain", created.address)

    emit_transfers(factory, [777])
    head = emit_transfers(created, [3, 4, 5])
    indexer = make_indexer(chain, sqlite_url(tmp_path), [factory],
                           handlers=token_handlers(on_create), indexer_max_range=1000)
    report = indexer.run_once()
    assert report.batches == 1 and report.last_block == head
    assert event_count(indexer.db, created.address) == 3
    with indexer.db.connect() as connection:
        watched = connection.execute(select(WatchedContract)
                                     .where(WatchedContract.address == created.address)).one()
    assert watched.dynamic and watched.from_block == created.block + 3


def test_a_second_indexer_on_the_same_database_is_refused(chain: Chain, web3: Web3,
                                                          tmp_path: Path) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, [1, 2, 3])
    first = make_indexer(chain, sqlite_url(tmp_path), [token], indexer_max_range=2)
    second = make_indexer(chain, sqlite_url(tmp_path), [token], indexer_max_range=2)
    chain_id = first.prepare()
    stale = first.read_cursor(chain_id)
    batch = first._fetch(stale.block_number + 1, stale.block_number + 2, tip=10**9)
    second.run_once()
    assert batch is not None
    with pytest.raises(ConcurrentIndexer):
        first._apply(chain_id, stale, batch)
    assert event_count(first.db) == 4  # exactly once


def test_a_changed_contract_set_reindexes_from_scratch(chain: Chain, web3: Web3,
                                                       tmp_path: Path) -> None:
    one, two = deploy_toolchain(web3), deploy_toolchain(web3)
    emit_transfers(one, [1])
    emit_transfers(two, [2])
    make_indexer(chain, sqlite_url(tmp_path), [two]).run_once()
    both = make_indexer(chain, sqlite_url(tmp_path), [one, two])
    both.run_once()
    assert event_count(both.db, one.address) == 2
    assert event_count(both.db, two.address) == 2


def test_a_database_of_another_chain_is_refused(chain: Chain, web3: Web3,
                                                tmp_path: Path) -> None:
    token = deploy_toolchain(web3)
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token])
    indexer.run_once()
    with indexer.db.begin() as connection:
        connection.execute(insert(SyncCursor).values(
            chain_id=999, block_number=1, block_hash="0x", genesis_hash="0x", contracts_key="0x"))
    with pytest.raises(WrongChain, match="chain 999"):
        make_indexer(chain, sqlite_url(tmp_path), [token]).run_once()


def test_rebuild_recomputes_derived_tables_from_the_stored_events(chain: Chain, web3: Web3,
                                                                  tmp_path: Path) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, range(1, 21))
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token], indexer_max_range=6)
    indexer.run_once()
    before = table_dump(indexer.db, BOOKKEEPING)
    with indexer.db.begin() as connection:  # a handler bug once wrote nonsense
        connection.execute(balances.update().values(balance=12345))
        connection.execute(transfers.delete())
    assert indexer.rebuild() == 21
    assert table_dump(indexer.db, BOOKKEEPING) == before


def test_a_shallow_reorg_among_blocks_without_logs_finds_its_ancestor(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    """Near the tip every block's hash is kept (not only blocks with logs), so a reorg of a
    few empty blocks rolls back just those, however sparse the contract's logs are."""
    token = deploy_toolchain(web3)
    emit_transfers(token, [1])
    for _ in range(20):
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token], indexer_reorg_window=6)
    indexer.run_once()
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    fork_point = web3.eth.block_number
    for _ in range(3):
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    indexer.run_once()
    web3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    head = emit_transfers(token, [2, 3, 4, 5])
    report = indexer.run_once()
    assert (report.rollbacks, report.last_block) == (1, head)
    assert indexer.read_cursor(1337).block_number == head
    with indexer.db.connect() as connection:
        assert connection.execute(select(func.min(RawEvent.block_number))
                                  .where(RawEvent.block_number > fork_point)).scalar() \
            == fork_point + 1
    fresh = make_indexer(chain, sqlite_url(tmp_path, "fresh.db"), [token])
    fresh.run_once()
    assert table_dump(indexer.db, BOOKKEEPING) == table_dump(fresh.db, BOOKKEEPING)


def test_a_reorg_while_the_logs_are_read_is_read_again(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    """The chain reorganises between `eth_getLogs` and the hash reads, replacing the blocks
    after the newest log (empty on the old branch) with blocks that hold transfers. Their
    hashes alone would pass the check (the blocks with logs did not change): the range's last
    block is read before the logs too, so the indexer reads the range again."""
    token = deploy_toolchain(web3)
    emit_transfers(token, [1])
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    for _ in range(3):
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token])
    real_get_logs = indexer.source.get_logs
    reorged: list[int] = []

    def get_logs_then_reorg(first: int, last: int, addresses: Sequence[str]
                            ) -> list[dict[str, Any]]:
        logs = real_get_logs(first, last, addresses)
        if not reorged:
            web3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
            reorged.append(emit_transfers(token, [2, 3, 4], to_index=2))
        return logs

    indexer.source.get_logs = get_logs_then_reorg  # type: ignore[method-assign]
    report = indexer.run_once()
    assert reorged and report.last_block == reorged[0]
    assert indexed_balances(indexer.db) == chain_balances(web3, token)
    indexer.db.dispose()


def appended_and_read_back(engine: Engine, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` of `events` appended by a StateWriter in one batch, then read back in order."""
    with engine.begin() as connection:
        writer = StateWriter(connection, chain_id=1)
        for row in rows:
            writer.append(RawEvent, **row)
        writer.flush()
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(
            select(RawEvent.__table__).order_by(RawEvent.log_index))]


def test_bulk_writes_keep_awkward_text_exact(store_url: str) -> None:
    """A batch's queued rows go to PostgreSQL by COPY in its text format (and to SQLite by
    executemany): tabs, newlines, backslashes, quotes, `\\N`, non-ASCII and nulls in the
    values come back as they went in."""
    engine = make_engine(store_url)
    migrate(engine)
    awkward = ["tab\there", "line\nbreak\r\n", "back\\slash \\N \\t", "quote ' \"", "naïve ∑",
               "", None]
    rows = [{"chain_id": 1, "block_number": 7, "log_index": i, "block_hash": "0x" + "ab" * 32,
             "tx_hash": "0x" + "cd" * 32, "address": "0x" + "00" * 19 + f"{i:02x}",
             "contract": "Token", "name": awkward[i % len(awkward)] or "-",
             "args": {"text": awkward[i % len(awkward)], "n": 2**200 + i, "flag": i % 2 == 0}}
            for i in range(3 * COPY_FROM)]
    assert appended_and_read_back(engine, rows) == rows


@pytest.mark.parametrize("awkward", ["tab\there", "line\nbreak", "carriage\rreturn",
                                     "back\\slash", "\\N", "ends with \\"],
                         ids=["tab", "newline", "carriage return", "backslash", "a \\N text",
                              "trailing backslash"])
def test_one_awkward_value_among_plain_rows_is_escaped(store_url: str, awkward: str) -> None:
    """COPY's text is written unescaped when no value needs escaping (checked over the
    whole text): one value that does, among hundreds that do not, still comes back exact —
    never cut into columns, never read as a null."""
    engine = make_engine(store_url)
    migrate(engine)
    rows = [{"chain_id": 1, "block_number": 9, "log_index": i, "block_hash": "0x" + "ab" * 32,
             "tx_hash": "0x" + "cd" * 32, "address": "0x" + "00" * 19 + f"{i % 256:02x}",
             "contract": "Token", "name": awkward if i == COPY_FROM else "Transfer",
             "args": {"n": i, "none": None}}
            for i in range(3 * COPY_FROM)]
    assert appended_and_read_back(engine, rows) == rows
    engine.dispose()


def test_a_prefetch_finds_exactly_the_rows_of_its_keys(store_url: str) -> None:
    """Prefetched keys (one array parameter per key column: json_each on SQLite, = ANY on
    PostgreSQL) come back as the rows a lookup key by key finds, absent ones as absent —
    uint256 and address keys included, and rows that only match column by column (another
    key's asset with this key's licensee) left out."""
    engine = make_engine(store_url)
    migrate(engine)
    holders = [f"0x{i:040X}" for i in range(1, 7)]
    big = 2**255 + 7  # stored as 78-digit text
    origin = {"block_number": 1, "block_hash": "0x" + "ab" * 32, "log_index": 0,
              "tx_hash": "0x" + "cd" * 32}
    with engine.begin() as connection:
        for i, holder in enumerate(holders[:4]):
            connection.execute(insert(License).values(
                asset_id=i % 2 + 1, licensee=holder, scope="download", bought_until=0,
                granted_until=big, expires_at=None, source="grant", **origin))
            connection.execute(insert(LicenseToken).values(
                token_id=big + i, holder=holder, asset_id=1, scope="download",
                transferable=True, expires_at=None, **origin))
    licence_keys = [(asset, holder, "download") for asset in (1, 2) for holder in holders]
    token_keys = [(big + i, holder) for i in range(5) for holder in holders[:5]]
    with engine.begin() as connection:
        prefetched = StateWriter(connection, chain_id=1)
        prefetched.prefetch_keys(License, licence_keys)
        prefetched.prefetch_keys(LicenseToken, token_keys)
        one_by_one = StateWriter(connection, chain_id=1)
        for model, keys, names in ((License, licence_keys, ("asset_id", "licensee", "scope")),
                                   (LicenseToken, token_keys, ("token_id", "holder"))):
            found = 0
            for key in keys:
                expected = one_by_one.get(model, **dict(zip(names, key, strict=True)))
                assert prefetched._known[(model.__table__, key)] == expected
                found += expected is not None
            assert found == 4
    engine.dispose()
