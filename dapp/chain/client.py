"""The web3 connection and the two questions everything asks first: which chain, which block."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.providers.rpc.utils import REQUEST_RETRY_ALLOWLIST, ExceptionRetryConfiguration
from web3.types import RPCEndpoint, RPCResponse

from dapp.chain.cache_only import refuse_if_cache_only
from dapp.chain.transactions import chain_errors


@dataclass(frozen=True)
class ChainStatus:
    chain_id: int
    latest_block: int


#: Reads are retried on a dropped connection too: web3's default retries catch the builtin
#: ConnectionError, which requests' ConnectionError (a keep-alive connection the node closed
#: as it was reused, "Connection aborted") is not. Sending a signed transaction is left out:
#: `TransactionSender` owns that, and a blind resend could meet its own first copy.
RETRIED_METHODS = [m for m in REQUEST_RETRY_ALLOWLIST if m != "eth_sendRawTransaction"]
RETRIED_ERRORS = (ConnectionError, requests.ConnectionError, requests.HTTPError,
                  requests.Timeout)


class _Provider(HTTPProvider):
    """web3's HTTP provider, whose requests refuse to start inside `cache_only()`."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        refuse_if_cache_only(str(method))
        return super().make_request(method, params)

    def make_batch_request(self, batch_requests: list[tuple[RPCEndpoint, Any]]
                           ) -> list[RPCResponse] | RPCResponse:
        refuse_if_cache_only("a batch")
        return super().make_batch_request(batch_requests)


def connect(rpc_url: str, timeout_seconds: float = 10.0) -> Web3:
    retries = ExceptionRetryConfiguration(errors=RETRIED_ERRORS, retries=3,
                                          backoff_factor=0.1, method_allowlist=RETRIED_METHODS)
    return Web3(_Provider(rpc_url, request_kwargs={"timeout": timeout_seconds},
                             exception_retry_configuration=retries))


def chain_status(web3: Web3) -> ChainStatus:
    with chain_errors(web3, "asking which chain and block"):
        return ChainStatus(chain_id=web3.eth.chain_id, latest_block=web3.eth.block_number)
