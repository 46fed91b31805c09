"""Gas per operation of the registry, measured on the chain Brownie is attached to.

    make gas      # fresh ganache, optimizer on (brownie-config.yaml), writes docs/GAS.md

Every figure is a receipt's gasUsed for one transaction in a stated situation (cold or warm
storage matters, so each row says which). Targets come from the Contracts I issue; the anchor
figures are the ones the issue gives for Ocean Protocol and Streamr Data Unions measured on a
local EVM with their unmodified contracts (not re-measured here).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownie import (
    AssetRegistry,
    ComputeMarket,
    DataDAO,
    DataDAOFactory,
    DataDAOShares,
    LicenseTokens,
    TestToken,
    accounts,
    chain,
    web3,
)
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from dapp.chain.eip712 import permit_typed_data
from dapp.market.vouchers import sign_voucher as voucher

DAY = 24 * 3600
PRICE = 10 * 10**18
DOWNLOAD, COMPUTE, DATASET = 0, 1, 0
OUT = Path(os.environ.get("GAS_TABLE", "docs/GAS.md"))


@dataclass
class Row:
    operation: str
    situation: str
    gas: int
    target: int | None = None
    anchor: str = ""

    def cells(self) -> list[str]:
        target = f"{self.target:,}" if self.target else ""
        verdict = "" if not self.target else ("✅" if self.gas <= self.target else "❌ over")
        return [self.operation, self.situation, f"{self.gas:,}", target, verdict, self.anchor]


def cid(label: str) -> tuple[bytes, int]:
    return (hashlib.sha256(label.encode()).digest(), 0x55)


def offer(token: Any, price: int = PRICE, duration: int = 30 * DAY, scope: int = DOWNLOAD) -> tuple:
    return (token.address, price, duration, scope)


def sign_permit(token: Any, owner: Any, spender: Any, value: int, deadline: int) -> tuple:
    """An EIP-2612 permit as the registry's `Permit` struct (the CLI's typed data)."""
    message = encode_typed_data(full_message=permit_typed_data(
        name=token.name(), version="1", chain_id=chain.id, token=token.address,
        owner=owner.address, spender=spender.address, value=value, nonce=token.nonces(owner),
        deadline=deadline))
    signed = Account.sign_message(message, owner.private_key)
    return (value, deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def sign_voucher(market: Any, signer: Any, channel_id: int, cumulative: int) -> bytes:
    """The buyer's voucher, signed as the gateway's clients sign it."""
    return voucher(signer.private_key, chain.id, market.address, channel_id,
                   cumulative).signature


def terms(registry: Any, asset_id: int, offer_id: int) -> tuple:
    """(token, maxPrice, duration, scope): what a buyer commits to, as the offer reads now."""
    return tuple(registry.offer(asset_id, offer_id))[:4]


def compact_voucher(market: Any, signer: Any, channel_id: int, cumulative: int) -> tuple:
    """The same voucher as `redeemMany`'s CompactVoucher (EIP-2098: r, vs)."""
    signature = bytes(sign_voucher(market, signer, channel_id, cumulative))
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return (channel_id, cumulative, r, ((v - 27) << 255 | s).to_bytes(32, "big"))


def measure_compute(registry: Any, token: Any) -> list[Row]:
    admin, publisher, buyer, provider = accounts[0], accounts[1], accounts[2], accounts[4]
    params = (50 * 10**18, 7 * DAY, DAY, 3 * DAY, 7 * DAY, 100 * 10**18, 1000)
    market = ComputeMarket.deploy(admin, registry, params, {"from": admin})
    for account in (buyer, provider, publisher):
        token.mint(account, 10**24, {"from": admin})
        token.approve(market, 2**256 - 1, {"from": account})
    rows: list[Row] = []

    def gas(tx: Any) -> int:
        return int(tx.gas_used)

    tx = market.registerProvider("http://127.0.0.1:8000", token, 5 * 10**18, 500 * 10**18,
                                 {"from": provider})
    rows.append(Row("registerProvider", "with 500 DDT stake", gas(tx)))
    dataset = registry.publish(DATASET, cid("cd"), cid("cdm"), 1000,
                               [offer(token, PRICE, 0, COMPUTE)], {"from": publisher}).return_value
    algorithm = registry.publish(2, cid("ca"), cid("cam"), 0, [offer(token, 0, 0, COMPUTE)],
                                 {"from": publisher}).return_value
    tx = registry.trustAlgorithm(dataset, algorithm, 0, {"from": publisher})
    rows.append(Row("trustAlgorithm", "list an algorithm on a dataset (any version)", gas(tx)))
    pinned = registry.publish(2, cid("cp"), cid("cpm"), 0, [offer(token, 0, 0, COMPUTE)],
                              {"from": publisher}).return_value
    tx = registry.trustAlgorithm(dataset, pinned, 1, {"from": publisher})
    rows.append(Row("trustAlgorithm", "pinned to version 1", gas(tx)))
    tx = registry.untrustAlgorithm(dataset, pinned, {"from": publisher})
    rows.append(Row("untrustAlgorithm", "", gas(tx)))
    tx = registry.setComputePolicy(dataset, False, 10**8, 0, {"from": publisher})
    rows.append(Row("setComputePolicy", "result cap, listed algorithms only", gas(tx)))
    registry.buy(algorithm, 1, buyer, *terms(registry, algorithm, 1), {"from": buyer})
    registry.buy(dataset, 1, buyer, *terms(registry, dataset, 1), {"from": buyer})
    market.setComputeFee(dataset, token, 2 * 10**18, {"from": publisher})
    deadline = chain.time() + DAY
    first = market.createJob(dataset, algorithm, provider, deadline, token, 10**20,
                             {"from": buyer}).return_value
    tx = market.createJob(dataset, algorithm, provider, deadline, token, 10**20, {"from": buyer})
    rows.append(Row("createJob", "second job (escrow provider + data fee; registry.checkJob)",
                    gas(tx)))
    job = tx.return_value
    market.acceptJob(first, {"from": provider})
    tx = market.acceptJob(job, {"from": provider})
    rows.append(Row("acceptJob", "locks the job's collateral", gas(tx)))
    tx = market.submitResult(job, cid("result"), b"\x01" * 32, {"from": provider})
    rows.append(Row("submitResult", "on an accepted job", gas(tx)))
    market.submitResult(first, cid("result"), b"\x01" * 32, {"from": provider})
    chain.sleep(DAY + 1)
    chain.mine()
    market.finalize(first, {"from": buyer})
    tx = market.finalize(job, {"from": buyer})
    rows.append(Row("finalize", "credits provider; data fee split via payRevenue", gas(tx)))
    tx = market.withdraw(token, {"from": provider})
    rows.append(Row("ComputeMarket.withdraw", "provider's credited fees, one token", gas(tx)))

    payer = accounts.add()
    admin.transfer(payer, 10**19)
    token.mint(payer, 10**24, {"from": admin})
    token.approve(market, 2**256 - 1, {"from": payer})
    expiry = chain.time() + 30 * DAY
    channels = []
    for index in range(111):
        tx = market.openChannel(provider, token, 10**20, expiry, {"from": payer})
        if index == 1:
            rows.append(Row("openChannel", "deposit + expiry", gas(tx)))
        channels.append(tx.return_value)
    tx = market.redeem(channels[0], 10**17, sign_voucher(market, payer, channels[0], 10**17),
                       {"from": provider})
    rows.append(Row("redeem", "one voucher", gas(tx), None,
                    "SingularityNET channelClaim 84,291; Ocean compute claimLock 175k+"))
    start = 1
    for size in (1, 10, 100):
        batch = channels[start:start + size]
        start += size
        vouchers = [compact_voucher(market, payer, c, 10**17) for c in batch]
        tx = market.redeemMany(vouchers, {"from": provider})
        rows.append(Row("redeemMany", f"batch of {size}: per voucher (total {gas(tx):,})",
                        gas(tx) // size, 15_000 if size == 100 else None,
                        "SingularityNET multiChannelClaim 44,507 per channel"
                        if size == 100 else ""))
    return rows


def measure_license_tokens(registry: Any, token: Any) -> list[Row]:
    """Licence tokens (issue 19): a sale through LicenseTokens and a transfer, on a registry
    whose payout balances are already warm (sales happened before)."""
    admin, publisher, buyer, buyer2, curator = accounts[:5]
    tokens = LicenseTokens.deploy(registry, {"from": admin})
    registry.setLicenseTokens(tokens, {"from": admin})
    asset_id = registry.publish(DATASET, cid("lt"), cid("lt-meta"), 1000, [offer(token)],
                                {"from": publisher}).return_value
    tokens.setTokenOffer(asset_id, 1, True, True, {"from": publisher})
    rows = []
    tx = tokens.buy(asset_id, 1, buyer2, *terms(registry, asset_id, 1), {"from": buyer2})
    rows.append(Row("LicenseTokens.buy", "first token sale of the asset (warm treasury)",
                    int(tx.gas_used), 150_000))
    tx = tokens.buy(asset_id, 1, buyer, *terms(registry, asset_id, 1), {"from": buyer})
    rows.append(Row("LicenseTokens.buy", "new holder, warm balances", int(tx.gas_used), 150_000))
    tx = tokens.buy(asset_id, 1, buyer, *terms(registry, asset_id, 1), {"from": buyer})
    rows.append(Row("LicenseTokens.buy", "extends the holder's token", int(tx.gas_used),
                    150_000))
    token_id = tokens.licenseId(asset_id, DOWNLOAD, True)
    tx = tokens.safeTransferFrom(buyer, curator, token_id, 1, b"", {"from": buyer})
    rows.append(Row("LicenseTokens.safeTransferFrom", "to an account holding none of the id",
                    int(tx.gas_used), 60_000))
    tx = tokens.safeTransferFrom(buyer2, curator, token_id, 1, b"", {"from": buyer2})
    rows.append(Row("LicenseTokens.safeTransferFrom", "to a holder of the id (later end kept)",
                    int(tx.gas_used), 60_000))
    curator2 = accounts[5]
    tx = tokens.setUser(token_id, curator2, chain[-1].timestamp + DAY, {"from": curator})
    rows.append(Row("LicenseTokens.setUser", "lend the licence (ERC-4907 user)", int(tx.gas_used)))
    tokens.setRoyalty(asset_id, 500, {"from": publisher})
    for account in (curator2, buyer):
        token.approve(tokens, 2**256 - 1, {"from": account})
    tokens.listForResale(token_id, token, PRICE, {"from": curator})
    tx = tokens.buyResale(token_id, curator, token, PRICE, {"from": curator2})
    rows.append(Row("LicenseTokens.buyResale", "5 % royalty split like a sale; ends a loan; "
                    "first resale (approves the registry)", int(tx.gas_used)))
    tokens.listForResale(token_id, token, PRICE, {"from": curator2})
    tx = tokens.buyResale(token_id, curator2, token, PRICE, {"from": buyer})
    rows.append(Row("LicenseTokens.buyResale", "next resale, new seller balance", int(tx.gas_used)))
    return rows


def measure_dao(registry: Any, token: Any) -> list[Row]:
    admin, members = accounts[0], accounts[1:4]
    factory = DataDAOFactory.deploy(registry, DataDAO.deploy({"from": admin}),
                                    DataDAOShares.deploy({"from": admin}), {"from": admin})
    config = ("Bench Collective", "BENCH", [m.address for m in members], [10**18] * 3,
              [token.address], (1, 3600, 0, 0, 4), b"\x07" * 32)
    tx = factory.createDAO(config, {"from": admin})
    rows = [Row("createDAO", "3 members, EIP-1167 clones", int(tx.gas_used))]
    dao = DataDAO.at(tx.events["DAOCreated"]["dao"])
    shares = DataDAOShares.at(tx.events["DAOCreated"]["shares"])
    token.mint(admin, 10**22, {"from": admin})
    token.approve(registry, 2**256 - 1, {"from": admin})
    registry.depositFor(dao, token, 10**21, {"from": admin})
    tx = dao.collect(token, {"from": admin})
    rows.append(Row("DataDAO.collect", "registry payout → members' accumulator", int(tx.gas_used)))
    tx = shares.withdraw(token, {"from": members[0]})
    rows.append(Row("DataDAOShares.withdraw", "a member's part (any member count)",
                    int(tx.gas_used), None, "Streamr DU withdrawAll 125,231"))

    # A governance round: the DAO sets a new quorum (a parameter change by proposal).
    target, calldata = dao.address, dao.updateQuorumNumerator.encode_input(5)
    description = "raise the quorum to 5 %"
    tx = dao.propose([target], [0], [calldata], description, {"from": members[0]})
    rows.append(Row("DataDAO.propose", "one call", int(tx.gas_used)))
    proposal = tx.events["ProposalCreated"]["proposalId"]
    chain.sleep(2)
    chain.mine()
    tx = dao.castVote(proposal, 1, {"from": members[0]})
    rows.append(Row("DataDAO.castVote", "", int(tx.gas_used)))
    for member in members[1:]:
        dao.castVote(proposal, 1, {"from": member})
    chain.sleep(3601)
    chain.mine()
    tx = dao.execute([target], [0], [calldata], keccak(text=description), {"from": members[0]})
    rows.append(Row("DataDAO.execute", "parameter change, no execution delay",
                    int(tx.gas_used)))
    return rows


def measure() -> list[Row]:
    admin, publisher, buyer, buyer2, curator, curator2 = accounts[:6]
    treasury = accounts[9]
    token = TestToken.deploy("DataDAO Dev Token", "DDT", {"from": admin})
    registry = AssetRegistry.deploy(
        admin, treasury, 250, 3 * DAY, token, [token], {"from": admin}
    )
    for account in (publisher, buyer, buyer2, curator, curator2):
        token.mint(account, 10**24, {"from": admin})
        token.approve(registry, 2**256 - 1, {"from": account})
    rows: list[Row] = []

    def gas(tx: Any) -> int:
        return int(tx.gas_used)

    tx = registry.publish(DATASET, cid("c0"), cid("m0"), 1000, [offer(token)], {"from": publisher})
    rows.append(Row("publish (1 offer)", "first asset of the registry", gas(tx), 250_000,
                    "Ocean: data NFT + createERC20 455,058 + setMetaData 158,398"))
    tx = registry.publish(DATASET, cid("c1"), cid("m1"), 1000, [offer(token)], {"from": publisher})
    rows.append(Row("publish (1 offer)", "publisher's second asset", gas(tx), 250_000))
    asset = tx.return_value
    tx = registry.setOffer(asset, 2, offer(token, PRICE, 0, COMPUTE), {"from": publisher})
    rows.append(Row("setOffer", "add a second offer", gas(tx)))
    tx = registry.setOffer(asset, 2, offer(token, 2 * PRICE, 0, COMPUTE), {"from": publisher})
    rows.append(Row("setOffer", "change an offer's price", gas(tx)))
    tx = registry.addVersion(asset, cid("c1v2"), cid("m1v2"), {"from": publisher})
    rows.append(Row("addVersion", "second version", gas(tx)))

    tx = registry.buy(1, 1, buyer, *terms(registry, 1, 1), {"from": buyer})
    rows.append(Row("buy", "first sale ever (cold payout balances)", gas(tx), 130_000,
                    "Ocean startOrder 160,370 (first)"))
    tx = registry.buy(asset, 1, buyer, *terms(registry, asset, 1), {"from": buyer})
    rows.append(Row("buy", "new licensee, warm balances", gas(tx), 130_000))
    tx = registry.buy(asset, 1, buyer, *terms(registry, asset, 1), {"from": buyer})
    rows.append(Row("buy", "extends a running license", gas(tx), 130_000,
                    "Ocean startOrder 109,058 (repeat)"))

    holder = accounts.add()
    admin.transfer(holder, 10**18)
    token.mint(holder, 10**21, {"from": admin})
    permit = sign_permit(token, holder, registry, PRICE, chain.time() + 3600)
    tx = registry.buyWithPermit(asset, 1, holder, *terms(registry, asset, 1), permit,
                                {"from": holder})
    rows.append(Row("buyWithPermit", "permit + buy, one transaction", gas(tx)))

    tx = registry.grant(asset, buyer2, COMPUTE, chain.time() + 30 * DAY, {"from": publisher})
    rows.append(Row("grant", "free license", gas(tx)))
    tx = registry.revokeGrant(asset, buyer2, COMPUTE, {"from": publisher})
    rows.append(Row("revokeGrant", "", gas(tx)))

    tx = registry.stake(asset, 100 * 10**18, {"from": curator})
    rows.append(Row("stake", "first staker, asset already has revenue (warms up)", gas(tx),
                    110_000))
    tx = registry.stake(asset, 50 * 10**18, {"from": curator2})
    rows.append(Row("stake", "second staker (warms up)", gas(tx), 110_000))
    chain.sleep(3 * DAY + 1)
    chain.mine()
    tx = registry.activateStake(asset, curator2, {"from": curator2})
    rows.append(Row("activateStake", "warmed-up stake starts earning", gas(tx)))
    registry.buy(asset, 1, buyer2, *terms(registry, asset, 1), {"from": buyer2})
    tx = registry.stake(asset, 50 * 10**18, {"from": curator})
    rows.append(Row("stake", "add to own stake (activates the warmed one first)", gas(tx), 110_000))
    registry.buy(asset, 1, buyer2, *terms(registry, asset, 1), {"from": buyer2})
    tx = registry.stake(asset, 10 * 10**18, {"from": curator2})
    rows.append(Row("stake", "add to own active stake (settles nothing)", gas(tx), 110_000))
    registry.buy(asset, 1, buyer2, *terms(registry, asset, 1), {"from": buyer2})
    tx = registry.claim(asset, {"from": curator})
    rows.append(Row("claim", "rewards in one token", gas(tx)))
    tx = registry.claimReward(asset, token, curator, {"from": curator2})
    rows.append(Row("claimReward", "one token, to a recipient", gas(tx)))
    tx = registry.requestUnstake(asset, 100 * 10**18, {"from": curator})
    rows.append(Row("requestUnstake", "from warming and earning stake", gas(tx)))
    chain.sleep(3 * DAY + 1)
    chain.mine()
    tx = registry.withdrawStake(asset, {"from": curator})
    rows.append(Row("withdrawStake", "after the unbonding delay", gas(tx)))

    tx = registry.withdraw(token, {"from": publisher})
    rows.append(Row("withdraw", "owner's balance, one token", gas(tx), 45_000,
                    "Streamr DU withdrawAll 125,231"))

    ids = [registry.publish(DATASET, cid(f"b{i}"), cid(f"bm{i}"), 0, [offer(token)],
                            {"from": publisher}).return_value for i in range(5)]
    tx = registry.buy(ids[0], 1, buyer2, *terms(registry, ids[0], 1), {"from": buyer2})
    single = gas(tx)
    tx = registry.buyMany([(i, 1, buyer, *terms(registry, i, 1)) for i in ids], {"from": buyer})
    rows.append(Row("buyMany (5 assets)", "total", gas(tx)))
    rows.append(Row("buyMany (5 assets)", f"per asset (single buy here: {single:,})",
                    gas(tx) // 5, 130_000))
    rows += measure_compute(registry, token)
    rows += measure_license_tokens(registry, token)
    rows += measure_dao(registry, token)
    return rows


def render(rows: list[Row]) -> str:
    header = ["operation", "situation", "gas", "target", "", "anchor (from the issue)"]
    lines = [
        "# Gas per operation",
        "",
        "Generated by `make gas` (`bench/gas.py`) on ganache 7.9.2, solc 0.8.28 with the",
        f"optimizer on (200 runs), evm shanghai; chain id {chain.id}, "
        f"block {web3.eth.block_number}.",
        "Each figure is one transaction's `gasUsed`. Anchors are the figures the Contracts I",
        "issue gives for Ocean Protocol and Streamr Data Unions on a local EVM (not re-measured).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    rows = measure()
    table = render(rows)
    print(table)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    existing = OUT.read_text() if OUT.is_file() else ""
    marker = "\n## Notes"
    notes = existing[existing.index(marker):] if marker in existing else ""
    OUT.write_text(table + notes)
    print(f"written to {OUT}")
