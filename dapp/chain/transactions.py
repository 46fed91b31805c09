"""Talking to the chain when it can fail: the one place where an RPC failure becomes
`ChainUnavailable` (`chain_errors`), and transactions signed here with a keystore account and
sent raw: nonce, gas and fees from the node, a receipt, then as many confirmations as asked
for. A revert — at estimation or after mining — becomes `TransactionReverted` naming the
contract's custom error and its arguments (what to do about it is the caller's to say: the
CLI's hints are in `dapp.cli.hints`, HTTP's in `dapp.gateway.problems`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from eth_abi import decode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted
from web3.types import TxReceipt

from dapp.errors import ChainUnavailable, DappError

DEFAULT_PRIORITY_FEE_WEI = 1_000_000_000
GAS_MARGIN = 1.2
RECEIPT_TIMEOUT_SECONDS = 120.0
CONFIRMATION_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.2
_ERROR_STRING = "Error(string)"
_PANIC = "Panic(uint256)"


class TransactionReverted(DappError):
    """The contract refused the call; `error_name` is its custom error (or Error/Panic)."""

    code = "tx-reverted"
    http_status = 409
    exit_code = 12

    def __init__(self, message: str, *, error_name: str | None = None,
                 error_args: dict[str, Any] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error_name = error_name
        self.error_args = error_args or {}


class ConfirmationTimeout(DappError):
    code = "confirmation-timeout"
    exit_code = 13


@dataclass(frozen=True)
class _ErrorAbi:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]


class ErrorDecoder:
    """Revert data → 'Name(arg=value, ...)' from the custom errors of some ABIs."""

    def __init__(self, abis: Iterable[Iterable[Mapping[str, Any]]]) -> None:
        self._errors: dict[bytes, _ErrorAbi] = {}
        for abi in abis:
            for entry in abi:
                if entry.get("type") == "error":
                    self._add(entry["name"], list(entry.get("inputs", [])))
        self._add("Error", [{"name": "message", "type": "string"}])
        self._add("Panic", [{"name": "code", "type": "uint256"}])

    def _add(self, name: str, inputs: list[Mapping[str, Any]]) -> None:
        types = tuple(collapse_if_tuple(dict(i)) for i in inputs)
        selector = function_signature_to_4byte_selector(f"{name}({','.join(types)})")
        self._errors[selector] = _ErrorAbi(name, tuple(i.get("name", "") for i in inputs), types)

    def decode(self, data: bytes | str | None) -> tuple[str | None, dict[str, Any]]:
        raw = bytes(HexBytes(data)) if data else b""
        error = self._errors.get(raw[:4]) if len(raw) >= 4 else None
        if error is None:
            return None, {}
        try:
            values = decode(list(error.types), raw[4:])
        except Exception:  # malformed revert data: name it, no arguments
            return error.name, {}
        return error.name, {name or f"arg{index}": _plain(abi_type, value)
                            for index, (name, abi_type, value) in enumerate(
                                zip(error.names, error.types, values, strict=True))}

    def reverted(self, what: str, data: bytes | str | None, fallback: str = "") -> \
            TransactionReverted:
        name, args = self.decode(data)
        if name is None:
            detail = fallback or "no reason given"
            return TransactionReverted(f"{what} reverted: {detail}")
        shown = ", ".join(f"{key}={value}" for key, value in args.items())
        return TransactionReverted(f"{what} reverted with {name}({shown})", error_name=name,
                                   error_args=args)


def _plain(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return HexBytes(value).to_0x_hex()
    if isinstance(value, tuple | list):
        return [_plain("", item) for item in value]
    return value


def redact_url(url: str) -> str:
    """scheme://host:port of an RPC URL: its path, query and user info may hold an API key."""
    parsed = urlparse(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname}{port}"


def rpc_url(web3: Web3) -> str:
    """The node's URL as it may be shown (redacted)."""
    return redact_url(str(getattr(web3.provider, "endpoint_uri", "") or ""))


@contextmanager
def chain_errors(web3: Web3, doing: str = "") -> Iterator[None]:
    """Connection failures of the RPC as `ChainUnavailable` (the only place they become it);
    `doing` says what was asked ("reading the license")."""
    try:
        yield
    except (RequestException, OSError) as error:
        while_ = f" while {doing}" if doing else ""
        raise ChainUnavailable(
            f"chain RPC at {rpc_url(web3)} is unreachable{while_} ({type(error).__name__})",
            hint="is the chain running? (DAPP_CHAIN_RPC_URL; `make up` starts a dev chain)",
        ) from error


def revert_data(error: ContractLogicError) -> str | None:
    data = getattr(error, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return data
    if isinstance(data, dict):  # ganache's estimateGas puts it under "result"
        for key in ("data", "result"):
            if isinstance(data.get(key), str) and data[key].startswith("0x"):
                return str(data[key])
    return None


@dataclass(frozen=True)
class SentTransaction:
    tx_hash: str
    receipt: TxReceipt

    @property
    def block_number(self) -> int:
        return int(self.receipt["blockNumber"])

    @property
    def gas_used(self) -> int:
        return int(self.receipt["gasUsed"])


ConfirmationProgress = Callable[[int, int], None]


class TransactionSender:
    """Signs with `account` locally and sends raw transactions through `web3`."""

    def __init__(self, web3: Web3, account: LocalAccount, decoder: ErrorDecoder, *,
                 confirmations: int = 0,
                 on_confirmation: ConfirmationProgress | None = None,
                 receipt_timeout: float = RECEIPT_TIMEOUT_SECONDS,
                 confirmation_timeout: float = CONFIRMATION_TIMEOUT_SECONDS) -> None:
        self.web3 = web3
        self.account = account
        self.decoder = decoder
        self.confirmations = confirmations
        self.on_confirmation = on_confirmation
        self.receipt_timeout = receipt_timeout
        self.confirmation_timeout = confirmation_timeout

    @property
    def address(self) -> str:
        return str(self.account.address)

    def call_data(self, function: ContractFunction) -> tuple[str, str]:
        return str(function.address), function._encode_transaction_data()

    def _request(self, function: ContractFunction) -> dict[str, Any]:
        to, data = self.call_data(function)
        return {"from": self.address, "to": to, "data": data, "value": 0}

    def estimate(self, function: ContractFunction, what: str) -> int:
        """Gas for the call (with a margin); raises `TransactionReverted` if it would revert."""
        with chain_errors(self.web3, what):
            return self._estimate(self._request(function), what)

    def send(self, function: ContractFunction, what: str) -> SentTransaction:
        """Estimate (a revert here costs nothing), sign, send, wait; raises on a revert."""
        request = self._request(function)
        with chain_errors(self.web3, what):
            gas = self._estimate(request, what)
            tx = {**request, "gas": gas, "nonce": self.web3.eth.get_transaction_count(
                self.address, "pending"), "chainId": self.web3.eth.chain_id, **self._fees()}
            del tx["from"]
            signed = self.account.sign_transaction(tx)
            tx_hash = self.web3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self._wait_receipt(tx_hash, what)
            if int(receipt["status"]) != 1:
                raise self._explain_failure(request, receipt, what)
            self._wait_confirmations(int(receipt["blockNumber"]))
        return SentTransaction(HexBytes(tx_hash).to_0x_hex(), receipt)

    def approve_if_short(self, token: Contract, spender: str, amount: int, what: str
                         ) -> SentTransaction | None:
        """`approve(spender, amount)` on the ERC-20 `token`, unless this account's allowance
        already covers `amount`; the approval sent, if one was."""
        with chain_errors(self.web3, what):
            allowance = int(token.functions.allowance(self.address, spender).call())
        if allowance >= amount:
            return None
        return self.send(token.functions.approve(spender, amount), what)

    def _estimate(self, request: dict[str, Any], what: str) -> int:
        try:
            return int(self.web3.eth.estimate_gas(request) * GAS_MARGIN)  # type: ignore[arg-type]
        except ContractCustomError as error:
            raise self.decoder.reverted(what, revert_data(error)) from None
        except ContractLogicError as error:
            data = revert_data(error)
            raise self.decoder.reverted(what, data, fallback=str(error.message)) from None
        except ValueError as error:  # e.g. insufficient funds for gas
            raise TransactionReverted(f"{what} cannot be sent: {error}",
                                      hint="does the account hold ETH for gas?") from None

    def _fees(self) -> dict[str, int]:
        block = self.web3.eth.get_block("latest")
        base_fee = block.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": int(self.web3.eth.gas_price)}
        try:
            priority = int(self.web3.eth.max_priority_fee)
        except (ValueError, RequestException):
            priority = DEFAULT_PRIORITY_FEE_WEI
        return {"maxFeePerGas": 2 * int(base_fee) + priority, "maxPriorityFeePerGas": priority}

    def _wait_receipt(self, tx_hash: bytes, what: str) -> TxReceipt:
        try:
            return self.web3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=POLL_SECONDS)
        except TimeExhausted:
            raise ConfirmationTimeout(
                f"{what}: transaction {HexBytes(tx_hash).to_0x_hex()} was sent but not mined "
                f"within {self.receipt_timeout:.0f} s",
                hint="it may still be mined; look it up before sending again") from None

    def _explain_failure(self, request: dict[str, Any], receipt: TxReceipt, what: str
                         ) -> TransactionReverted:
        """Replay a mined-but-failed call on the state before its block to learn why."""
        try:
            self.web3.eth.call(request, block_identifier=int(receipt["blockNumber"]) - 1)  # type: ignore[arg-type]
        except ContractLogicError as error:
            return self.decoder.reverted(what, revert_data(error), fallback=str(error.message))
        return TransactionReverted(f"{what} failed in block {receipt['blockNumber']} "
                                   "(out of gas, or state changed before it was mined)")

    def _wait_confirmations(self, mined_in: int) -> None:
        if self.confirmations <= 0:
            return
        deadline = time.monotonic() + self.confirmation_timeout
        while True:
            seen = min(self.web3.eth.block_number - mined_in, self.confirmations)
            if self.on_confirmation is not None:
                self.on_confirmation(max(seen, 0), self.confirmations)
            if seen >= self.confirmations:
                return
            if time.monotonic() > deadline:
                raise ConfirmationTimeout(
                    f"mined in block {mined_in} but only {seen} of {self.confirmations} "
                    f"confirmations arrived within {self.confirmation_timeout:.0f} s",
                    hint="the transaction is on chain; a dev chain mines only when sent "
                         "transactions, so wait for 0 confirmations there")
            time.sleep(POLL_SECONDS)
