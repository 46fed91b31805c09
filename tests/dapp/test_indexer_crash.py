"""`python -m dapp.indexer` killed with SIGKILL at random points of a 500-event run, then
restarted: the database ends equal to that of an uninterrupted run (no duplicates, no gaps)."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from dapp.config import Settings
from dapp.devstack.process import REPO_ROOT, ManagedProcess, free_port
from dapp.devstack.up import settings_env
from dapp.indexer import Indexer
from dapp.store.db import make_engine
from dapp.store.models import SyncCursor
from tests.dapp.conftest import Chain, deploy_toolchain, dev_web3, emit_transfers, table_dump

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


def test_sigkill_at_random_points_then_restart_equals_an_uninterrupted_run(
    chain: Chain, tmp_path: Path
) -> None:
    web3 = dev_web3(chain.rpc_url)
    token = deploy_toolchain(web3)
    head = emit_transfers(token, range(1, 500))  # with the mint: 500 events in 500 blocks
    deployments = tmp_path / "deployments.json"
    deployments.write_text(json.dumps(
        {"1337": {"Toolchain": {"address": token.address, "block": token.block}}}))
    settings = Settings(
        data_dir=tmp_path / "data", chain_rpc_url=chain.rpc_url,
        database_url=f"sqlite:///{tmp_path / 'crashed.db'}", deployments_file=deployments,
        indexer_contracts=["Toolchain"], indexer_max_range=5, indexer_poll_seconds=0.1,
        ipfs_api_url=f"http://127.0.0.1:{free_port()}",  # nothing to pin here
    )
    engine = make_engine(settings.resolved_database_url)
    seed = random.randrange(1 << 30)
    targets = sorted(random.Random(seed).sample(range(token.block, head - 20), KILLS))

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
    assert len(table_dump(engine)["events"]) == 500
