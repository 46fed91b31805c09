"""The voucher a buyer signs for a metered call, and the header that carries it.

EIP-712 domain ("DataDAO ComputeMarket", "1", chain id, market address), type
`Voucher(uint256 channelId,uint256 cumulativeAmount)`: the same digest the contract's
`voucherDigest` returns, computed here without a chain call.

Header: `X-DataDAO-Voucher: <channelId>:<cumulativeAmount>:<0x signature>` (decimal amounts).

On chain, `redeemMany` takes a 65-byte signature in EIP-2098 compact form (`compact_voucher`:
r, vs = s | (v - 27) << 255); any other signature (an ERC-1271 wallet's that is not 65 bytes)
is redeemed with `redeem(channelId, amount, signature)`, one per call.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes

from dapp.chain.constants import MAX_UINT256
from dapp.chain.eip712 import typed_data
from dapp.chain.keccak import keccak256

try:
    from coincurve import PublicKey as _PublicKey
except ImportError:  # eth-keys' pure-Python backend, through eth-account
    _PublicKey = None

VOUCHER_HEADER = "X-DataDAO-Voucher"
# on a paid answer: what the channel has paid after this call, and what a call costs
ACCEPTED_HEADER = "X-DataDAO-Accepted-Cumulative"
PRICE_HEADER = "X-DataDAO-Price"
DOMAIN_NAME = "DataDAO ComputeMarket"
DOMAIN_VERSION = "1"
# channel id and amount: decimal uint256 (≤ 78 digits); signature: 65 bytes, or a longer blob
# for an ERC-1271 wallet (bounded: headers are not a place for kilobytes)
_HEADER = re.compile(r"^\s*(\d{1,78}):(\d{1,78}):(0x[0-9a-fA-F]{2,1024})\s*$")


class MalformedVoucher(ValueError):
    pass


@dataclass(frozen=True)
class Voucher:
    channel_id: int
    cumulative_amount: int
    signature: bytes

    @property
    def signature_hex(self) -> str:
        return HexBytes(self.signature).to_0x_hex()

    def header_value(self) -> str:
        return f"{self.channel_id}:{self.cumulative_amount}:{self.signature_hex}"

    @property
    def compactable(self) -> bool:
        """Whether `redeemMany` can take it: a 65-byte signature with v 27 or 28."""
        return len(self.signature) == 65 and self.signature[64] in (27, 28)

    def compact(self) -> tuple[int, int, bytes, bytes]:
        """`redeemMany`'s CompactVoucher (channelId, cumulativeAmount, r, vs)."""
        return compact_voucher(self.channel_id, self.cumulative_amount, self.signature)


class NotCompactable(ValueError):
    """A signature that is not 65-byte ECDSA with v 27/28: it goes through `redeem`."""


def compact_signature(signature: bytes) -> tuple[bytes, bytes]:
    """EIP-2098: a 65-byte (r, s, v) signature as (r, vs), vs = s | (v - 27) << 255. The
    contract expands vs back to (s, v) for `ecrecover` and for ERC-1271 wallets, so any
    65-byte signature with v 27/28 survives the round trip (s with its top bit set would not,
    and is no valid ECDSA signature anyway)."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise NotCompactable(f"a {len(signature)}-byte signature has no compact form")
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    if s >> 255:
        raise NotCompactable("s has its top bit set")
    vs = s | ((v - 27) << 255)
    return r, vs.to_bytes(32, "big")


def expand_signature(r: bytes, vs: bytes) -> bytes:
    """The 65-byte r‖s‖v of an EIP-2098 compact signature (the contract's own expansion)."""
    number = int.from_bytes(vs, "big")
    s, v = number & ((1 << 255) - 1), 27 + (number >> 255)
    return r + s.to_bytes(32, "big") + bytes([v])


def compact_voucher(channel_id: int, cumulative_amount: int, signature: bytes
                    ) -> tuple[int, int, bytes, bytes]:
    r, vs = compact_signature(signature)
    return channel_id, cumulative_amount, r, vs


def parse_voucher_header(value: str) -> Voucher:
    match = _HEADER.match(value)
    if match is None:
        raise MalformedVoucher(f"{VOUCHER_HEADER} must be <channelId>:<cumulativeAmount>:"
                               "<0x signature> with decimal amounts")
    channel_id, amount = int(match[1]), int(match[2])
    if not (0 < channel_id <= MAX_UINT256 and amount <= MAX_UINT256):
        raise MalformedVoucher("channel id and amount must be uint256 (channel ids start at 1)")
    if len(match[3]) % 2:
        raise MalformedVoucher("the signature must be whole bytes of hex")
    return Voucher(channel_id, amount, bytes(HexBytes(match[3])))


def voucher_typed_data(chain_id: int, market: str, channel_id: int,
                       cumulative_amount: int) -> dict[str, Any]:
    return typed_data(
        "Voucher", [{"name": "channelId", "type": "uint256"},
                    {"name": "cumulativeAmount", "type": "uint256"}],
        name=DOMAIN_NAME, version=DOMAIN_VERSION, chain_id=chain_id, verifying_contract=market,
        message={"channelId": channel_id, "cumulativeAmount": cumulative_amount})


def voucher_message(chain_id: int, market: str, channel_id: int,
                    cumulative_amount: int) -> SignableMessage:
    return encode_typed_data(full_message=voucher_typed_data(chain_id, market, channel_id,
                                                             cumulative_amount))


def voucher_digest(chain_id: int, market: str, channel_id: int, cumulative_amount: int) -> bytes:
    """What `ComputeMarket.voucherDigest(channelId, cumulativeAmount)` returns: keccak of
    0x1901 ‖ the domain separator (cached per chain and market) ‖ the struct hash, computed
    directly (the gateway checks one per paid call; eth-account's generic typed-data encoder
    takes about ten times the CPU). Pinned to eth-account's result by test_voucher_vectors."""
    if not (0 <= channel_id <= MAX_UINT256 and 0 <= cumulative_amount <= MAX_UINT256):
        raise ValueError("channel id and amount must be uint256")
    struct_hash = keccak256(_VOUCHER_TYPEHASH + channel_id.to_bytes(32, "big")
                          + cumulative_amount.to_bytes(32, "big"))
    return keccak256(b"\x19\x01" + _domain_separator(chain_id, market.lower()) + struct_hash)


_VOUCHER_TYPEHASH = keccak(b"Voucher(uint256 channelId,uint256 cumulativeAmount)")
_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId,"
                          b"address verifyingContract)")


@functools.lru_cache(maxsize=64)
def _domain_separator(chain_id: int, market: str) -> bytes:
    return keccak(_DOMAIN_TYPEHASH + keccak(DOMAIN_NAME.encode()) + keccak(DOMAIN_VERSION.encode())
                  + chain_id.to_bytes(32, "big") + bytes(HexBytes(market)).rjust(32, b"\0"))


def recover_signer(digest: bytes, signature: bytes) -> str | None:
    """The address whose 65-byte ECDSA signature this is; None for anything else, and for
    what the contract's `ECDSA.tryRecover` refuses: v other than 27/28, s above n/2 (the
    malleated twin of a valid signature, which would pay a call the chain never redeems).
    With coincurve (libsecp256k1) directly: eth-account's `_recover_hash` wraps the same
    recovery in ~0.1 ms of Python per voucher."""
    if _PublicKey is None:
        return _recover_with_eth_account(digest, signature)
    address = _recover_address(digest, signature)
    return None if address is None else to_checksum_address(address)


def signed_by(digest: bytes, signature: bytes, address: str) -> bool:
    """Whether `signature` (65-byte ECDSA, as `recover_signer` takes it) is `address`'s over
    `digest`: the recovered key's 20 bytes compared to the address's, without checksumming
    (~16 µs a call)."""
    if _PublicKey is None:
        signer = _recover_with_eth_account(digest, signature)
        return signer is not None and signer.lower() == address.lower()
    recovered = _recover_address(digest, signature)
    return recovered is not None and recovered == _address_bytes(address)


def _recover_address(digest: bytes, signature: bytes) -> bytes | None:
    if len(signature) != 65 or signature[64] not in (27, 28) or len(digest) != 32:
        return None
    if int.from_bytes(signature[32:64], "big") > _HALF_CURVE_ORDER:
        return None
    assert _PublicKey is not None
    try:
        public = _PublicKey.from_signature_and_message(
            signature[:64] + bytes((signature[64] - 27,)), digest, hasher=None)
    except Exception:  # r or s zero or out of range: not a signature of anyone
        return None
    return keccak256(public.format(compressed=False)[1:])[-20:]


def _recover_with_eth_account(digest: bytes, signature: bytes) -> str | None:
    if len(signature) != 65 or signature[64] not in (27, 28) or len(digest) != 32:
        return None
    if int.from_bytes(signature[32:64], "big") > _HALF_CURVE_ORDER:
        return None
    try:
        return str(Account._recover_hash(digest, signature=signature))
    except Exception:  # malformed r/s: not a signature of anyone
        return None


@functools.lru_cache(maxsize=1024)
def _address_bytes(address: str) -> bytes:
    return bytes(HexBytes(address))


#: secp256k1's n / 2: OpenZeppelin's ECDSA refuses any s above it (EIP-2)
_HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def sign_voucher(private_key: Any, chain_id: int, market: str, channel_id: int,
                 cumulative_amount: int) -> Voucher:
    """A buyer's voucher (clients, tests, benchmarks)."""
    signed = Account.sign_message(voucher_message(chain_id, market, channel_id,
                                                  cumulative_amount), private_key)
    return Voucher(channel_id, cumulative_amount, bytes(signed.signature))
