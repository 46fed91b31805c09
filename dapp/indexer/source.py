"""The indexer's questions to the chain: head, block hashes, logs — with failures mapped to
`ChainUnavailable` (retry later) or `RangeTooLarge` (shrink the range)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from web3 import Web3
from web3.exceptions import BlockNotFound, Web3RPCError
from web3.types import RPCEndpoint

from dapp.chain.events import as_int, checksum_address, hex32
from dapp.chain.reorgs import block_hash
from dapp.chain.transactions import chain_errors
from dapp.indexer.ranges import RangeTooLarge, is_range_too_large


class ChainSource:
    def __init__(self, web3: Web3) -> None:
        self.web3 = web3

    def _unavailable(self, what: str) -> AbstractContextManager[None]:
        return chain_errors(self.web3, what)

    def chain_id(self) -> int:
        with self._unavailable("asking the chain id"):
            return int(self.web3.eth.chain_id)

    def head(self) -> int:
        with self._unavailable("asking the latest block"):
            return int(self.web3.eth.block_number)

    def block_hash(self, number: int) -> str | None:
        """The hash of block `number` on the chain as it is now (None: no such block yet)."""
        return block_hash(self.web3, number)

    def block_hashes(self, first: int, last: int, chunk: int = 128) -> dict[int, str] | None:
        """Hashes of blocks first..last, in JSON-RPC batches (None: one of them is missing —
        the chain just got shorter)."""
        hashes: dict[int, str] = {}
        for start in range(first, last + 1, chunk):
            numbers = range(start, min(last, start + chunk - 1) + 1)
            with self._unavailable(f"reading blocks {numbers.start}..{numbers.stop - 1}"):
                try:
                    with self.web3.batch_requests() as batch:
                        for number in numbers:
                            batch.add(self.web3.eth.get_block(number))
                        blocks = batch.execute()
                except BlockNotFound:
                    return None
            hashes.update({n: hex32(b["hash"]) for n, b in zip(numbers, blocks, strict=True)})
        return hashes

    def get_logs(self, first: int, last: int, addresses: Sequence[str]) -> list[dict[str, Any]]:
        """The followed contracts' logs of blocks first..last, as the node sends them with the
        fields the indexer reads made canonical: `blockNumber` and `logIndex` ints, hashes
        lowercase 0x-hex, `address` checksummed; `topics` and `data` stay 0x-hex.

        A raw JSON-RPC call: web3's result formatting (HexBytes and AttributeDicts, field by
        field) costs several times what the node takes to answer."""
        if not addresses:
            return []
        params = {"fromBlock": hex(first), "toBlock": hex(last), "address": list(addresses)}
        with self._unavailable(f"reading logs of blocks {first}..{last}"):
            try:
                logs = self._call("eth_getLogs", params)
            except Exception as error:
                if is_range_too_large(error):
                    raise RangeTooLarge(str(error)) from error
                raise
        return [canonical_log(entry) for entry in logs]

    def _call(self, method: str, *params: Any) -> Any:
        response = self.web3.provider.make_request(RPCEndpoint(method), list(params))
        if response.get("error") is not None:
            raise Web3RPCError(repr(response["error"]), rpc_response=response)
        return response["result"]


def canonical_log(entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` (a log just parsed from the node's answer) with the fields the indexer reads
    made canonical, in place."""
    entry["address"] = checksum_address(entry["address"])
    entry["blockNumber"] = as_int(entry["blockNumber"])
    entry["logIndex"] = as_int(entry["logIndex"])
    entry["blockHash"] = hex32(entry["blockHash"])
    entry["transactionHash"] = hex32(entry["transactionHash"])
    return entry
