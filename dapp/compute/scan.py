"""The job worker's scan of `JobCreated` logs addressed to its provider, reorg-safe.

The cursor (`provider_cursors`: the next block to read) is stored with the hash of the block
before it, and a window of hashes of the blocks the scan read (`provider_scan_hashes`: the last
block of each range, and each block holding a job). Before each scan the cursor's hash is
compared with the chain's; when it changed (a reorg, or a dev chain's `evm_revert`), the scan
goes back to the newest remembered block the chain still has (`dapp.chain.reorgs`, which the
indexer uses too), forgets the jobs created above it and reads those blocks again: a job the
new branch holds is queued, even when its id is that of a job of the dropped branch. A reorg
deeper than the window rescans from the market's deploy block.

A range is kept only when its last block's hash is the same before and after its logs were
read (a reorg in between changes it, and every block after).
"""

from __future__ import annotations

import logging

from dapp.chain.reorgs import common_ancestor
from dapp.compute.jobs import JobStore, ScanCursor
from dapp.market.reader import MarketReader

log = logging.getLogger("dapp.compute.scan")


class JobScanner:
    def __init__(self, reader: MarketReader, store: JobStore, provider: str, *,
                 confirmations: int = 0, max_block_range: int = 2000,
                 keep_blocks: int = 128) -> None:
        self.reader = reader
        self.store = store
        self.provider = provider
        self.confirmations = confirmations
        self.max_block_range = max_block_range
        self.keep_blocks = keep_blocks

    def scan(self) -> int:
        """Queue the JobCreated logs of this provider up to the confirmed head; returns how
        many new jobs were queued."""
        head, _ = self.reader.head()
        last = head - self.confirmations
        cursor = self.store.cursor(self.reader.deployed_block)
        if self._rolled_back(cursor):
            cursor = self.store.cursor(self.reader.deployed_block)
        start, added = cursor.next_block, 0
        while start <= last:
            end = min(last, start + self.max_block_range - 1)
            before = self.reader.block_hash(end)
            found = self.reader.new_jobs(self.provider, start, end)
            after = self.reader.block_hash(end)
            if before is None or before != after:
                log.info("blocks %d..%d changed while read; reading them again", start, end)
                break
            hashes = {job.block_number: job.block_hash for job in found} | {end: after}
            added += self.store.add(found, end + 1, hashes, self.keep_blocks)
            start = end + 1
        if added:
            log.info("queued %d new compute job(s)", added)
        return added

    def _rolled_back(self, cursor: ScanCursor) -> bool:
        """Roll the cursor back when the block before it is not the one the scan read."""
        if cursor.block_hash is None or \
                self.reader.block_hash(cursor.next_block - 1) == cursor.block_hash:
            return False
        found = common_ancestor(self.store.scan_hashes(), self.reader.block_hash)
        if found is None:
            log.warning("reorg deeper than the %d blocks of hashes kept: rescanning from the "
                        "market's deploy block %d", self.keep_blocks, self.reader.deployed_block)
        ancestor, ancestor_hash = found or (self.reader.deployed_block - 1, None)
        forgotten = self.store.roll_back(ancestor, ancestor_hash)
        log.warning("reorg below block %d: scanning again from block %d (%d job(s) of the "
                    "dropped blocks forgotten)", cursor.next_block - 1, ancestor + 1, forgotten)
        return True
