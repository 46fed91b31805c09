"""Signature checks shared by SIWE and per-request signing: EOA recovery, then EIP-1271."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import SignableMessage, _hash_eip191_message
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception

EIP1271_MAGIC_VALUE = bytes.fromhex("1626ba7e")
#: the gas a wallet's `isValidSignature` may use (as `dapp.market.reader` grants it): a hostile
#: "wallet" that spins cannot make each unauthenticated sign-in cost a full `eth_call`
EIP1271_GAS = 200_000
#: longest signature asked of a wallet, in bytes (a multisig's may be several ECDSA ones)
MAX_SIGNATURE_BYTES = 1024
EIP1271_ABI = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [
            {"name": "hash", "type": "bytes32"},
            {"name": "signature", "type": "bytes"},
        ],
        "outputs": [{"name": "magicValue", "type": "bytes4"}],
    }
]


def recover_signer(message: SignableMessage, signature: str) -> ChecksumAddress | None:
    try:
        return Account.recover_message(message, signature=HexBytes(signature))
    except (ValueError, TypeError, IndexError):
        return None
    except Exception:  # eth_keys raises its own BadSignature family on malformed input
        return None


def is_valid_contract_signature(
    web3: Web3, account: ChecksumAddress, digest: bytes, signature: str
) -> bool:
    """EIP-1271: ask the account's contract, with capped gas; False for an EOA, an overlong
    signature or any failure."""
    if len(signature) > 2 + 2 * MAX_SIGNATURE_BYTES:
        return False
    try:
        if web3.eth.get_code(account) == b"":
            return False
        wallet = web3.eth.contract(address=account, abi=EIP1271_ABI)
        answer = wallet.functions.isValidSignature(digest, HexBytes(signature)).call(
            {"gas": EIP1271_GAS})
    except (Web3Exception, ValueError, OSError):
        return False
    return bytes(answer) == EIP1271_MAGIC_VALUE


def signed_by(
    web3: Web3 | None, message: SignableMessage, signature: str, account: ChecksumAddress
) -> bool:
    """True when `account` signed `message`: as an EOA, or as an EIP-1271 contract wallet."""
    if recover_signer(message, signature) == account:
        return True
    if web3 is None:
        return False
    return is_valid_contract_signature(web3, account, _hash_eip191_message(message), signature)
