"""What every follower of the chain needs to survive a reorg (or a dev chain's `evm_revert`):
the hash of a block as the chain has it now, and the newest of the hashes it remembered that
the chain still has — where to roll back to. The indexer (`dapp.indexer.sync`) and the compute
job worker's scan (`dapp.compute.scan`) both keep hashes of the blocks they read and use these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from web3 import Web3
from web3.exceptions import BlockNotFound

from dapp.chain.events import hex32
from dapp.chain.transactions import chain_errors

ZERO_HASH = "0x" + "00" * 32


def block_hash(web3: Web3, number: int) -> str | None:
    """The hash of block `number` on the chain as it is now (None: no such block yet; the
    zero hash before block 0). RPC failures are `ChainUnavailable`."""
    if number < 0:
        return ZERO_HASH
    with chain_errors(web3, f"reading block {number}"):
        try:
            block = web3.eth.get_block(number)
        except BlockNotFound:
            return None
    return hex32(block["hash"])


def common_ancestor(stored: Iterable[tuple[int, str]],
                    hash_on_chain: Callable[[int], str | None]) -> tuple[int, str] | None:
    """The newest (block number, hash) of `stored` (newest first) that the chain still has;
    None when the chain replaced every one of them (a reorg deeper than what was kept)."""
    for number, remembered in stored:
        if hash_on_chain(number) == remembered:
            return number, remembered
    return None
