"""ComputeMarket payment channels: open, EIP-712 vouchers redeemed one by one and in batches,
every rejection, top up, extend, reclaim after expiry, EIP-1271 buyers."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from compute_helpers import *  # noqa: F403 (fixtures)
from compute_helpers import (
    DAY,
    ENDPOINT,
    MAX_UINT,
    PROVIDER_FEE,
    STAKE,
    TOKEN,
    compact_voucher,
    err,
    sign_voucher,
    voucher_message,
)
from eth_account import Account

DEPOSIT = 10 * TOKEN
OTHER_KEY = "0x" + "22" * 32


@pytest.fixture
def channel(market, token, registered, signer_buyer):
    """Channel 1: `signer_buyer` → `provider`, DEPOSIT, one day."""
    return market.openChannel(
        registered, token, DEPOSIT, chain[-1].timestamp + DAY, {"from": signer_buyer}
    ).return_value


def redeem(market, provider, buyer, channel_id, cumulative):
    return market.redeem(
        channel_id,
        cumulative,
        sign_voucher(buyer, market, channel_id, cumulative),
        {"from": provider},
    )


def test_open_channel_escrows_deposit(market, token, registered, signer_buyer):
    before = token.balanceOf(signer_buyer)
    expiry = chain[-1].timestamp + DAY
    tx = market.openChannel(registered, token, DEPOSIT, expiry, {"from": signer_buyer})
    assert tx.return_value == 1 and market.channelCount() == 1
    assert token.balanceOf(signer_buyer) == before - DEPOSIT
    assert token.balanceOf(market) == STAKE + DEPOSIT
    assert market.getChannel(1).dict() == {
        "buyer": signer_buyer,
        "expiry": expiry,
        "token": token,
        "deposit": DEPOSIT,
        "provider": registered,
        "redeemed": 0,
    }
    assert tx.events["ChannelOpened"]["provider"] == registered


def test_open_channel_checks(market, token, registered, signer_buyer, stranger):
    now = chain[-1].timestamp
    with brownie.reverts(err("InvalidExpiry", now - 10)):
        market.openChannel(registered, token, DEPOSIT, now - 10, {"from": signer_buyer})
    with brownie.reverts("ZeroAmount: "):
        market.openChannel(registered, token, 0, now + DAY, {"from": signer_buyer})
    with brownie.reverts(err("UnknownProvider", stranger)):
        market.openChannel(stranger, token, DEPOSIT, now + DAY, {"from": signer_buyer})


def test_voucher_digest_matches_eip712(market, token, channel, signer_buyer):
    signed = Account.sign_message(voucher_message(market, channel, 123), signer_buyer.private_key)
    assert market.voucherDigest(channel, 123) == "0x" + bytes(signed.message_hash).hex()
    typehash = brownie.web3.keccak(text="Voucher(uint256 channelId,uint256 cumulativeAmount)")
    assert market.VOUCHER_TYPEHASH() == "0x" + bytes(typehash).hex()


def test_redeem_pays_what_is_new(market, token, channel, registered, signer_buyer):
    before = token.balanceOf(registered)
    tx = redeem(market, registered, signer_buyer, channel, 3 * TOKEN)
    assert token.balanceOf(registered) == before + 3 * TOKEN
    assert tx.events["ChannelRedeemed"]["amount"] == 3 * TOKEN
    tx = redeem(market, registered, signer_buyer, channel, 5 * TOKEN)
    assert token.balanceOf(registered) == before + 5 * TOKEN
    assert tx.events["ChannelRedeemed"]["redeemed"] == 5 * TOKEN
    assert market.getChannel(channel).dict()["redeemed"] == 5 * TOKEN
    assert token.balanceOf(market) == STAKE + DEPOSIT - 5 * TOKEN


def test_redeem_rejects_other_chain(market, token, channel, registered, signer_buyer):
    signature = sign_voucher(signer_buyer, market, channel, TOKEN, chain_id=chain.id + 1)
    with brownie.reverts(err("InvalidVoucherSignature", channel)):
        market.redeem(channel, TOKEN, signature, {"from": registered})


def test_redeem_rejects_other_contract(market, token, registry, channel, registered, signer_buyer):
    signature = sign_voucher(
        signer_buyer, market, channel, TOKEN, verifying_contract=registry.address
    )
    with brownie.reverts(err("InvalidVoucherSignature", channel)):
        market.redeem(channel, TOKEN, signature, {"from": registered})


def test_redeem_rejects_voucher_of_another_channel(
    market, token, channel, registered, signer_buyer
):
    second = market.openChannel(
        registered, token, DEPOSIT, chain[-1].timestamp + DAY, {"from": signer_buyer}
    ).return_value
    signature = sign_voucher(signer_buyer, market, channel, TOKEN)
    with brownie.reverts(err("InvalidVoucherSignature", second)):
        market.redeem(second, TOKEN, signature, {"from": registered})


def test_redeem_rejects_lower_or_equal_cumulative(market, token, channel, registered, signer_buyer):
    redeem(market, registered, signer_buyer, channel, 5 * TOKEN)
    for cumulative in (5 * TOKEN, 4 * TOKEN):
        with brownie.reverts(err("VoucherNotNewer", channel, cumulative, 5 * TOKEN)):
            redeem(market, registered, signer_buyer, channel, cumulative)
    fresh = market.openChannel(
        registered, token, DEPOSIT, chain[-1].timestamp + DAY, {"from": signer_buyer}
    ).return_value
    with brownie.reverts(err("VoucherNotNewer", fresh, 0, 0)):
        redeem(market, registered, signer_buyer, fresh, 0)


def test_redeem_rejects_amount_over_deposit(market, token, channel, registered, signer_buyer):
    with brownie.reverts(err("VoucherExceedsDeposit", channel, DEPOSIT + 1, DEPOSIT)):
        redeem(market, registered, signer_buyer, channel, DEPOSIT + 1)


def test_redeem_rejects_wrong_signer(market, token, channel, registered):
    with brownie.reverts(err("InvalidVoucherSignature", channel)):
        market.redeem(
            channel, TOKEN, sign_voucher(OTHER_KEY, market, channel, TOKEN), {"from": registered}
        )
    with brownie.reverts(err("InvalidVoucherSignature", channel)):
        market.redeem(channel, TOKEN, b"\x01" * 64, {"from": registered})


def test_redeem_only_by_channel_provider(market, token, channel, signer_buyer, stranger):
    with brownie.reverts(err("NotChannelProvider", channel, stranger)):
        redeem(market, stranger, signer_buyer, channel, TOKEN)
    with brownie.reverts(err("UnknownChannel", 99)):
        redeem(market, stranger, signer_buyer, 99, TOKEN)


def test_redeem_many_over_three_channels(
    market, token, registered, signer_buyer, TestToken, registry, admin
):
    expiry = chain[-1].timestamp + DAY
    ids = [
        market.openChannel(registered, token, DEPOSIT, expiry, {"from": signer_buyer}).return_value
        for _ in range(2)
    ]
    other = TestToken.deploy("Other", "OTH", {"from": admin})
    other.mint(signer_buyer, 100 * TOKEN, {"from": admin})
    other.approve(market, MAX_UINT, {"from": signer_buyer})
    registry.setPaymentToken(other, True, {"from": admin})
    market.updateProvider(ENDPOINT, other, PROVIDER_FEE, {"from": registered})
    with brownie.reverts(err("PriceTokenMismatch", registered, other, token)):
        market.openChannel(registered, token, DEPOSIT, expiry, {"from": signer_buyer})
    ids.append(
        market.openChannel(registered, other, DEPOSIT, expiry, {"from": signer_buyer}).return_value
    )
    amounts = [1 * TOKEN, 2 * TOKEN, 3 * TOKEN]
    vouchers = [
        compact_voucher(signer_buyer, market, i, a) for i, a in zip(ids, amounts, strict=True)
    ]
    ddt_before, other_before = token.balanceOf(registered), other.balanceOf(registered)
    tx = market.redeemMany(vouchers, {"from": registered})
    assert token.balanceOf(registered) == ddt_before + 3 * TOKEN
    assert other.balanceOf(registered) == other_before + 3 * TOKEN
    assert tx.events["VouchersRedeemed"]["channelIds"] == ids
    assert tx.events["VouchersRedeemed"]["redeemed"] == amounts
    assert tx.events["VouchersRedeemed"]["provider"] == registered
    assert len(tx.events["Transfer"]) == 2  # one per run of the same token
    assert [market.getChannel(i).dict()["redeemed"] for i in ids] == amounts
    # Replaying the batch pays nothing twice.
    with brownie.reverts(err("VoucherNotNewer", ids[0], amounts[0], amounts[0])):
        market.redeemMany(vouchers, {"from": registered})


def test_redeem_many_is_all_or_nothing(market, token, registered, signer_buyer):
    ids = [
        market.openChannel(
            registered, token, DEPOSIT, chain[-1].timestamp + DAY, {"from": signer_buyer}
        ).return_value
        for _ in range(3)
    ]
    vouchers = [compact_voucher(signer_buyer, market, i, TOKEN) for i in ids]
    vouchers[2] = compact_voucher(OTHER_KEY, market, ids[2], TOKEN)
    with brownie.reverts(err("InvalidVoucherSignature", ids[2])):
        market.redeemMany(vouchers, {"from": registered})
    assert all(market.getChannel(i).dict()["redeemed"] == 0 for i in ids)
    with brownie.reverts("EmptyBatch: "):
        market.redeemMany([], {"from": registered})


def test_top_up_and_extend(market, token, channel, registered, signer_buyer, stranger):
    with brownie.reverts(err("NotChannelBuyer", channel, stranger)):
        market.topUp(channel, TOKEN, {"from": stranger})
    tx = market.topUp(channel, 5 * TOKEN, {"from": signer_buyer})
    assert tx.events["ChannelToppedUp"]["deposit"] == DEPOSIT + 5 * TOKEN
    redeem(market, registered, signer_buyer, channel, DEPOSIT + 5 * TOKEN)
    expiry = market.getChannel(channel).dict()["expiry"]
    with brownie.reverts(err("InvalidExpiry", expiry)):
        market.extend(channel, expiry, {"from": signer_buyer})
    with brownie.reverts(err("NotChannelBuyer", channel, stranger)):
        market.extend(channel, expiry + DAY, {"from": stranger})
    tx = market.extend(channel, expiry + DAY, {"from": signer_buyer})
    assert tx.events["ChannelExtended"]["expiry"] == expiry + DAY
    assert market.getChannel(channel).dict()["expiry"] == expiry + DAY


def test_reclaim_only_after_expiry(market, token, channel, registered, signer_buyer):
    redeem(market, registered, signer_buyer, channel, 4 * TOKEN)
    expiry = market.getChannel(channel).dict()["expiry"]
    with brownie.reverts(err("ChannelNotExpired", channel, expiry)):
        market.reclaim(channel, {"from": signer_buyer})
    chain.sleep(DAY + 1)
    chain.mine()
    before = token.balanceOf(signer_buyer)
    tx = market.reclaim(channel, {"from": signer_buyer})
    assert tx.return_value == DEPOSIT - 4 * TOKEN
    assert token.balanceOf(signer_buyer) == before + DEPOSIT - 4 * TOKEN
    assert token.balanceOf(market) == STAKE
    with brownie.reverts(err("NothingToReclaim", channel)):
        market.reclaim(channel, {"from": signer_buyer})
    with brownie.reverts(err("VoucherExceedsDeposit", channel, 5 * TOKEN, 4 * TOKEN)):
        redeem(market, registered, signer_buyer, channel, 5 * TOKEN)


def test_provider_may_redeem_after_expiry_until_reclaimed(
    market, token, channel, registered, signer_buyer
):
    chain.sleep(DAY + 1)
    chain.mine()
    redeem(market, registered, signer_buyer, channel, 6 * TOKEN)
    assert market.reclaim(channel, {"from": signer_buyer}).return_value == 4 * TOKEN


def test_pause_stops_new_channels_not_redeem_or_reclaim(
    market, token, channel, registered, signer_buyer, admin
):
    market.pause({"from": admin})
    with brownie.reverts("EnforcedPause: "):
        market.openChannel(
            registered, token, DEPOSIT, chain[-1].timestamp + DAY, {"from": signer_buyer}
        )
    with brownie.reverts("EnforcedPause: "):
        market.topUp(channel, TOKEN, {"from": signer_buyer})
    redeem(market, registered, signer_buyer, channel, TOKEN)
    chain.sleep(DAY + 1)
    chain.mine()
    market.reclaim(channel, {"from": signer_buyer})


def test_erc1271_wallet_buyer(market, token, registered, signer_buyer, ExecutingSmartWallet, admin):
    wallet = ExecutingSmartWallet.deploy(signer_buyer, {"from": signer_buyer})
    token.mint(wallet, 100 * TOKEN, {"from": admin})
    wallet.execute(token, token.approve.encode_input(market, MAX_UINT), {"from": signer_buyer})
    wallet.execute(
        market,
        market.openChannel.encode_input(registered, token, DEPOSIT, chain[-1].timestamp + DAY),
        {"from": signer_buyer},
    )
    channel_id = market.channelCount()
    assert market.getChannel(channel_id).dict()["buyer"] == wallet
    before = token.balanceOf(registered)
    market.redeem(
        channel_id,
        2 * TOKEN,
        sign_voucher(signer_buyer, market, channel_id, 2 * TOKEN),
        {"from": registered},
    )
    assert token.balanceOf(registered) == before + 2 * TOKEN
    with brownie.reverts(err("InvalidVoucherSignature", channel_id)):
        market.redeem(
            channel_id,
            3 * TOKEN,
            sign_voucher(OTHER_KEY, market, channel_id, 3 * TOKEN),
            {"from": registered},
        )


def test_erc1271_wallet_buyer_in_batch(
    market, token, registered, signer_buyer, ExecutingSmartWallet, admin
):
    """`redeemMany` checks a contract buyer's compact signature with ERC-1271 (as r, s, v)."""
    wallet = ExecutingSmartWallet.deploy(signer_buyer, {"from": signer_buyer})
    token.mint(wallet, 100 * TOKEN, {"from": admin})
    wallet.execute(token, token.approve.encode_input(market, MAX_UINT), {"from": signer_buyer})
    for _ in range(2):
        wallet.execute(
            market,
            market.openChannel.encode_input(registered, token, DEPOSIT, chain[-1].timestamp + DAY),
            {"from": signer_buyer},
        )
    ids = [market.channelCount() - 1, market.channelCount()]
    before = token.balanceOf(registered)
    market.redeemMany(
        [compact_voucher(signer_buyer, market, i, 2 * TOKEN) for i in ids], {"from": registered}
    )
    assert token.balanceOf(registered) == before + 4 * TOKEN
    with brownie.reverts(err("InvalidVoucherSignature", ids[0])):
        market.redeemMany(
            [compact_voucher(OTHER_KEY, market, ids[0], 3 * TOKEN)], {"from": registered}
        )


def test_channel_amounts_fit_88_bits(market, token, registered, signer_buyer, admin):
    limit = 2**88 - 1
    token.mint(signer_buyer, 2**89, {"from": admin})
    with brownie.reverts(err("AmountTooLarge", limit + 1, limit)):
        market.openChannel(
            registered, token, limit + 1, chain[-1].timestamp + DAY, {"from": signer_buyer}
        )
    channel_id = market.openChannel(
        registered, token, limit - 1, chain[-1].timestamp + DAY, {"from": signer_buyer}
    ).return_value
    with brownie.reverts(err("AmountTooLarge", limit + 1, limit)):
        market.topUp(channel_id, 2, {"from": signer_buyer})
    market.topUp(channel_id, 1, {"from": signer_buyer})
    assert market.getChannel(channel_id).dict()["deposit"] == limit


def test_channel_gas(market, token, registered, signer_buyer):
    expiry = chain[-1].timestamp + DAY
    opened = [
        market.openChannel(
            registered, token, DEPOSIT, expiry, {"from": signer_buyer}) for _ in range(11
        )
    ]
    ids = [tx.return_value for tx in opened]
    single = redeem(market, registered, signer_buyer, ids[0], TOKEN)
    three = market.redeemMany(
        [compact_voucher(signer_buyer, market, i, TOKEN) for i in ids[1:4]],
        {"from": registered},
    )
    seven = market.redeemMany(
        [compact_voucher(signer_buyer, market, i, TOKEN) for i in ids[4:11]],
        {"from": registered},
    )
    marginal = (seven.gas_used - three.gas_used) // 4
    print(
        f"\nGAS openChannel={opened[1].gas_used} redeem={single.gas_used} "
        f"redeemMany(3)={three.gas_used} ({three.gas_used // 3}/channel) "
        f"redeemMany(7)={seven.gas_used} ({seven.gas_used // 7}/channel) "
        f"marginal={marginal}/channel"
    )
    assert marginal < 40_000
