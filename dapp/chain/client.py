"""The web3 connection and the two questions everything asks first: which chain, which block."""

from __future__ import annotations

from dataclasses import dataclass

from requests.exceptions import RequestException
from web3 import HTTPProvider, Web3

from dapp.errors import ChainUnavailable


@dataclass(frozen=True)
class ChainStatus:
    chain_id: int
    latest_block: int


def connect(rpc_url: str, timeout_seconds: float = 10.0) -> Web3:
    return Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_seconds}))


def chain_status(web3: Web3) -> ChainStatus:
    try:
        return ChainStatus(chain_id=web3.eth.chain_id, latest_block=web3.eth.block_number)
    except (RequestException, OSError) as error:
        raise ChainUnavailable(
            f"chain RPC at {web3.provider.endpoint_uri} is unreachable",  # type: ignore[attr-defined]
            hint="is the dev chain running? `make up` starts one",
        ) from error
