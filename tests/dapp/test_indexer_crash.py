"""`python -m dapp.indexer` killed with SIGKILL at random points of a 500-transfer run with
DataDAOs created and voted on in between, then restarted: the database ends equal to that of
an uninterrupted run (no duplicates, no gaps, no DAO clone lost)."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from dapp.config import Settings
from dapp.devstack.process import REPO_ROOT, ManagedProcess
from dapp.devstack.up import settings_env
from dapp.indexer import Indexer
from dapp.ports import free_port
from dapp.store.db import make_engine
from dapp.store.models import Dao, RawEvent, SyncCursor, Vote
from tests.dapp.conftest import Chain, deploy_toolchain, dev_web3, emit_transfers, table_dump
from tests.dapp.helpers.governance import (
    FOR,
    SHARE,
    VOTING_DELAY,
    Call,
    Governance,
    make_governance,
)

BOOKKEEPING = ("state_journal", "block_hashes")  # their rows depend on where batches ended
KILLS = 6


def cursor_block(engine: Engine) -> int:
    try:
        with engine.connect() as connection:
            value = connection.execute(select(SyncCursor.block_number)).scalar()
    except OperationalError:  # not migrated yet
        return -1
    return -1 if value is None else int(value)


def wait_for_cursor(engine: Engine, block: int, process: ManagedProcess,
                    timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while cursor_block(engine) < block:
        assert process.is_running(), f"indexer exited, see {process.log_file}"
        assert time.monotonic() < deadline, f"indexer stuck below {block}"
        time.sleep(0.005)


def dao_round(governance: Governance, round_number: int) -> int:
    """A DAO created by the factory, a proposal and two votes; returns the creation block."""
    ex = governance.ex
    a, b = ex.accounts[1:3]
    dao = governance.create(a, [(a, 70 * SHARE), (b, 30 * SHARE)], f"Crash {round_number}")
    created = int(ex.web3.eth.block_number)
    noop = [Call(dao.governor.address, dao.governor.encode_abi("setExecutionDelay", args=[1]))]
    proposal = governance.propose(dao, noop, f"Round {round_number}", a)
    governance.wait(VOTING_DELAY + 1)
    for voter in (a, b):
        ex.send(dao.governor.functions.castVote(proposal, FOR), voter)
    return created


def test_sigkill_at_random_points_then_restart_equals_an_uninterrupted_run(
    chain: Chain, deployments_file: Path, tmp_path: Path
) -> None:
    web3 = dev_web3(chain.rpc_url)
    governance = make_governance(chain, deployments_file)
    token = deploy_toolchain(web3)
    dao_blocks = []
    for start in range(0, 500, 100):  # with the mint: 500 transfers in 500 blocks ...
        emit_transfers(token, range(max(start, 1), start + 100))
        dao_blocks.append(dao_round(governance, start // 100))  # ... and a DAO after each 100
    head = int(web3.eth.block_number)
    deployed = json.loads(deployments_file.read_text())
    deployed["1337"]["Toolchain"] = {"address": token.address, "block": token.block}
    deployments = tmp_path / "deployments.json"
    deployments.write_text(json.dumps(deployed))
    settings = Settings(
        data_dir=tmp_path / "data", chain_rpc_url=chain.rpc_url,
        database_url=f"sqlite:///{tmp_path / 'crashed.db'}", deployments_file=deployments,
        indexer_contracts=["Toolchain", "DataDAOFactory"], indexer_max_range=5,
        indexer_poll_seconds=0.1,
        ipfs_api_url=f"http://127.0.0.1:{free_port()}",  # nothing to pin here
    )
    engine = make_engine(settings.resolved_database_url)
    seed = random.randrange(1 << 30)
    chooser = random.Random(seed)
    # two kills just after a batch that started following a new DAO, the others anywhere
    targets = sorted(set(chooser.sample(dao_blocks[:-1], 2)) | set(chooser.sample(
        [n for n in range(token.block, head - 20) if n not in dao_blocks], KILLS - 2)))

    def start(run: int) -> ManagedProcess:
        return ManagedProcess(
            name="indexer", argv=[sys.executable, "-m", "dapp.indexer"],
            log_file=tmp_path / f"indexer-{run}.log",
            env={**os.environ, **settings_env(settings)}, cwd=REPO_ROOT,
        ).start()

    stopped_at = []
    for run, target in enumerate(targets):
        process = start(run)
        wait_for_cursor(engine, target, process)
        process.kill()  # SIGKILL, wherever it is: mid-batch, mid-commit, between batches
        stopped_at.append(cursor_block(engine))
    assert all(block < head for block in stopped_at), (seed, stopped_at)

    process = start(KILLS)
    wait_for_cursor(engine, head, process)
    process.stop()  # SIGTERM: a clean exit
    assert process.process is not None and process.process.returncode == 0

    reference = Indexer(settings.with_overrides(
        database_url=f"sqlite:///{tmp_path / 'reference.db'}"))
    reference.run_once()
    assert table_dump(engine, BOOKKEEPING) == table_dump(reference.db, BOOKKEEPING), seed
    with engine.connect() as connection:
        transfers = connection.execute(select(func.count()).select_from(RawEvent)
                                       .where(RawEvent.contract == "Toolchain")).scalar()
        daos = connection.execute(select(Dao.address).where(Dao.name.like("Crash %"))).all()
        votes = connection.execute(select(func.count()).select_from(Vote)
                                   .where(Vote.dao.in_([d.address for d in daos]))).scalar()
    assert (transfers, len(daos), votes) == (500, 5, 10)
