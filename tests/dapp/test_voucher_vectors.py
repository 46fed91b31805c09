"""The dApp signs vouchers in the browser (frontend/src/metered.ts, viem's EIP-712): its
typed-data hash and signature must be the ones `dapp.market.vouchers` computes, which the
contract's `voucherDigest` and the gateway check. frontend/src/testdata/voucher-vectors.json
holds vectors computed here; Vitest checks the browser code against them, this test checks
that they are still what Python computes.

Regenerate after a change to the voucher encoding:

    .venv/bin/python -m tests.dapp.test_voucher_vectors
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dapp.chain.accounts import dev_account
from dapp.market.vouchers import sign_voucher, voucher_digest

VECTORS = Path(__file__).resolve().parents[2] / "frontend/src/testdata/voucher-vectors.json"
CASES = [  # chain id, market, channel id, cumulative amount
    (1337, "0x3194cBDC3dbcd3E11a07892e7bA5c3394048Cc87", 1, 10**16),
    (1337, "0x3194cBDC3dbcd3E11a07892e7bA5c3394048Cc87", 7, 3 * 10**16),
    (1, "0x000000000000000000000000000000000000dEaD", 2**64 + 5, 2**88 - 1),
    (31337, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", 42, 0),
]


def vectors() -> dict[str, Any]:
    signer = dev_account(6)
    return {"signer": signer.address, "private_key": signer.key.hex(), "vectors": [
        {"chain_id": chain_id, "market": market, "channel_id": str(channel),
         "cumulative_amount": str(amount),
         "digest": "0x" + voucher_digest(chain_id, market, channel, amount).hex(),
         "header": sign_voucher(signer.key, chain_id, market, channel, amount).header_value()}
        for chain_id, market, channel, amount in CASES]}


def test_committed_vectors_are_what_python_computes() -> None:
    assert json.loads(VECTORS.read_text()) == vectors()


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(vectors(), indent=1) + "\n")
