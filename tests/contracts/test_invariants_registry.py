"""Money equations of the registry under random sequences of user actions.

Rules are what users do (publish, buy with the terms they saw, grant, revoke, stake, activate,
unstake, claim all or one token, withdraw, change the curators' share, transfer the NFT, let time
pass); a Python model replays the same arithmetic. Offers are priced in their own token (`pay`),
apart from the staking token, so each token's books stand alone. Amounts are small and odd on
purpose (prices up to 10^7 wei, stakes up to 10^6 wei): rounding is where the money goes missing.

Licence tokens too (issue 19): offer 1 of every asset also sells transferable licence tokens
through LicenseTokens (the same sale), and holders resell them on the exchange: the royalty is
split by the registry like a sale, the rest credited to the seller, nothing stays in
LicenseTokens; every run resells one token in `setup`.

Invariants: every payout balance, pending reward and stake equals the model's; for each asset,
what its stakers can still claim plus what they claimed never exceeds what sales set aside for
them; the registry holds at least everything it owes, with rounding dust of less than 1 + (the
asset's earning stakers) wei per distribution; `hasLicense` agrees with the model (bought,
granted or held as a token).

Why that dust bound and not 1 wei per distribution: the set-aside is the ceiling of what the
increment lets stakers claim (< 1 wei over), and each staker's claim is the floor of its exact
part (< 1 wei under, per staker). Three stakes of 1 wei sharing a 2-wei cut leave 2 wei from one
payment (`test_registry_payouts.py::test_rounding_dust_of_one_payment_can_be_one_wei_per_staker`):
a bound of one wei per distribution was wrong, not the contract, which always holds at least
what it owes (checked here, and by the teardown's withdrawal of everything).

At the end of every run everybody withdraws everything: each payment is exactly what the model
owes, the last one too, and the registry is left with the dust only (>= 0).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from brownie import chain
from brownie.test import strategy
from conftest import (
    COMPUTE,
    DATASET,
    DAY,
    DOWNLOAD,
    MAX_UINT,
    PROTOCOL_FEE_BPS,
    UNBONDING_DELAY,
    cid,
)
from fuzz_settings import run_stateful

PRECISION = 10**18
PERPETUAL = 2**64 - 1
BPS = 10_000


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class RegistryModel:
    """The registry's arithmetic in Python, step by step the same as the contract."""

    def __init__(self) -> None:
        self.balances: dict[str, int] = defaultdict(int)
        self.owner: dict[int, str] = {}
        self.share: dict[int, tuple[int, int, int]] = {}  # (current, pending, effective_at)
        self.offers: dict[int, list[tuple[int, int, int]]] = {}  # (price, duration, scope)
        self.bought: dict[tuple[int, str, int], int] = defaultdict(int)
        self.granted: dict[tuple[int, str, int], int] = defaultdict(int)
        self.per_share: dict[int, int] = defaultdict(int)
        self.stake: dict[tuple[int, str], int] = defaultdict(int)
        self.warming: dict[tuple[int, str], tuple[int, int]] = {}
        self.unbonding: dict[tuple[int, str], tuple[int, int]] = {}
        self.paid: dict[tuple[int, str], int] = defaultdict(int)
        self.rewards: dict[tuple[int, str], int] = defaultdict(int)
        self.token_end: dict[tuple[int, str], int] = defaultdict(int)  # DOWNLOAD, transferable
        self.royalty: dict[int, int] = {}
        self.set_aside: dict[int, int] = defaultdict(int)
        self.claimed: dict[int, int] = defaultdict(int)
        self.distributions = 0
        self.dust_bound = 0

    def total_staked(self, asset: int) -> int:
        return sum(v for (a, _), v in self.stake.items() if a == asset)

    def settle(self, asset: int, staker: str) -> None:
        key = (asset, staker)
        per_share = self.per_share[asset]
        self.rewards[key] += self.stake[key] * (per_share - self.paid[key]) // PRECISION
        self.paid[key] = per_share

    def activate(self, asset: int, staker: str, now: int) -> None:
        key = (asset, staker)
        amount, active_at = self.warming.get(key, (0, 0))
        if amount and now >= active_at:
            self.settle(asset, staker)
            self.stake[key] += amount
            self.warming[key] = (0, 0)

    def earned(self, asset: int, staker: str) -> int:
        key = (asset, staker)
        return self.rewards[key] + self.stake[key] * (
            self.per_share[asset] - self.paid[key]
        ) // PRECISION

    def curator_share(self, asset: int, now: int) -> int:
        current, pending, effective_at = self.share[asset]
        return pending if effective_at and now >= effective_at else current

    def set_curator_share(self, asset: int, bps: int, now: int) -> None:
        current = self.curator_share(asset, now)
        if bps >= current:
            self.share[asset] = (bps, 0, 0)
        else:
            self.share[asset] = (current, bps, now + UNBONDING_DELAY)

    def split(self, asset: int, amount: int, treasury: str, now: int) -> None:
        fee = amount * PROTOCOL_FEE_BPS // BPS
        curators = amount * self.curator_share(asset, now) // BPS
        rest = curators
        total = self.total_staked(asset)
        if total and curators:
            increment = curators * PRECISION // total
            self.per_share[asset] += increment
            rest = curators - ceil_div(increment * total, PRECISION)
            self.set_aside[asset] += curators - rest
            self.distributions += 1
            # What stays behind: < 1 wei of the ceiling, plus < 1 wei per earning staker whose
            # floor of this payment's part rounds down (each claim is a floor of its exact part).
            stakers = sum(1 for (a, _), v in self.stake.items() if a == asset and v)
            self.dust_bound += 1 + stakers
        self.balances[treasury] += fee
        self.balances[self.owner[asset]] += amount - fee - curators + rest

    def extend(self, key: tuple[int, str, int], duration: int, now: int) -> None:
        current = self.bought[key]
        if duration == 0 or current == PERPETUAL:
            self.bought[key] = PERPETUAL
        else:
            self.bought[key] = min(max(current, now) + duration, PERPETUAL)

    def has_license(self, key: tuple[int, str, int], now: int) -> bool:
        asset, account, scope = key
        token = self.token_end[(asset, account)] if scope == DOWNLOAD else 0
        return max(self.bought[key], self.granted[key], token) > now


class RegistryStateMachine:
    st_actor = strategy("uint8", max_value=4)
    st_other = strategy("uint8", max_value=4)
    st_asset = strategy("uint8", max_value=3)
    st_offer = strategy("uint8", max_value=1)
    st_bps = strategy("uint16", max_value=5000)
    st_price = strategy("uint256", max_value=10**7)
    st_amount = strategy("uint256", min_value=1, max_value=10**6)
    st_days = strategy("uint8", max_value=40)
    st_scope = strategy("uint8", max_value=1)
    st_sales = strategy("uint8", min_value=1, max_value=6)

    def __init__(cls, accounts: Any, registry: Any, token: Any, pay: Any, treasury: Any,
                 tokens: Any) -> None:
        cls.accounts = accounts[1:6]
        cls.registry = registry
        cls.tokens = tokens
        cls.token = token
        cls.pay = pay
        cls.treasury = treasury

    def setup(self) -> None:
        """Every run starts where rounding bites: two assets with odd prices and shares, stakes
        of a few wei beside a large one, warmed up and earning."""
        self.model = RegistryModel()
        self.assets: list[int] = []
        self.rule_publish(0, 3333, 999_999, 7)
        self.rule_publish(1, 5000, 7, 0)
        for staker, asset_index, amount in ((2, 0, 3), (3, 0, 7), (4, 0, 1_000_003), (2, 1, 3)):
            self.rule_stake(staker, asset_index, amount)
        self.rule_warm_up_passes()
        # Every run has a licence token resold once (its royalty shared by the odd stakes).
        self.rule_resell_token(0, 1, 0, 999_983)

    # ---- helpers
    def _asset(self, index: int) -> int | None:
        return self.assets[index % len(self.assets)] if self.assets else None

    def _owner_account(self, asset: int) -> Any:
        return next(a for a in self.accounts if a.address == self.model.owner[asset])

    def _claim(self, asset: int, staker: Any, to: Any | None) -> None:
        reward = self.model.earned(asset, staker.address)
        if reward == 0:
            return
        receiver = to or staker
        before = self.pay.balanceOf(receiver)
        if to is None:
            tx = self.registry.claim(asset, {"from": staker})
        else:
            tx = self.registry.claimReward(asset, self.pay, to, {"from": staker})
        assert self.pay.balanceOf(receiver) - before == reward
        self.model.activate(asset, staker.address, tx.timestamp)
        self.model.settle(asset, staker.address)
        self.model.rewards[(asset, staker.address)] = 0
        self.model.claimed[asset] += reward

    # ---- rules: what users do
    def rule_publish(self, st_actor: int, st_bps: int, st_price: int, st_days: int) -> None:
        if len(self.assets) >= 4:
            return
        publisher = self.accounts[st_actor]
        offers = [
            (self.pay.address, st_price, st_days * DAY, DOWNLOAD),
            (self.pay.address, st_price // 3, 0, COMPUTE),
        ]
        label = f"asset-{len(self.assets)}"
        tx = self.registry.publish(
            DATASET, cid(label), cid(label + "-meta"), st_bps, offers, {"from": publisher}
        )
        asset = tx.return_value
        self.assets.append(asset)
        self.model.owner[asset] = publisher.address
        self.model.share[asset] = (st_bps, 0, 0)
        self.model.offers[asset] = [(o[1], o[2], o[3]) for o in offers]
        # Offer 1 also sells transferable licence tokens; resales pay a royalty of ≤ 10 %.
        royalty = st_bps // 5
        self.tokens.setTokenOffer(asset, 1, True, True, {"from": publisher})
        self.tokens.setRoyalty(asset, royalty, {"from": publisher})
        self.model.royalty[asset] = royalty

    def rule_buy(
        self, st_actor: int, st_other: int, st_asset: int, st_offer: int, st_sales: int
    ) -> None:
        """A burst of small sales: every one is a distribution with its own rounding."""
        asset = self._asset(st_asset)
        if asset is None:
            return
        price, duration, scope = self.model.offers[asset][st_offer]
        buyer, licensee = self.accounts[st_actor], self.accounts[st_other]
        for _ in range(st_sales):
            tx = self.registry.buy(
                asset, st_offer + 1, licensee, self.pay, price, duration, scope, {"from": buyer}
            )
            self.model.extend((asset, licensee.address, scope), duration, tx.timestamp)
            if price:
                self.model.split(asset, price, self.treasury.address, tx.timestamp)

    def rule_buy_token(self, st_actor: int, st_other: int, st_asset: int) -> None:
        """A licence token of offer 1: the same sale through LicenseTokens."""
        asset = self._asset(st_asset)
        if asset is None:
            return
        price, duration, scope = self.model.offers[asset][0]
        buyer, holder = self.accounts[st_actor], self.accounts[st_other]
        tx = self.tokens.buy(
            asset, 1, holder, self.pay, price, duration, scope, {"from": buyer}
        )
        key = (asset, holder.address)
        current = self.model.token_end[key]
        if duration == 0 or current == PERPETUAL:
            self.model.token_end[key] = PERPETUAL
        else:
            self.model.token_end[key] = min(max(current, tx.timestamp) + duration, PERPETUAL)
        if price:
            self.model.split(asset, price, self.treasury.address, tx.timestamp)

    def rule_resell_token(
        self, st_actor: int, st_other: int, st_asset: int, st_price: int
    ) -> None:
        """A holder lists its licence token and another account buys it: the royalty is split
        like a sale, the rest is the seller's payout balance."""
        asset = self._asset(st_asset)
        if asset is None:
            return
        if st_actor == st_other:
            st_other = (st_other + 1) % len(self.accounts)
        seller, buyer = self.accounts[st_actor], self.accounts[st_other]
        if self.model.token_end[(asset, seller.address)] == 0:
            self.rule_buy_token(st_actor, st_actor, st_asset)  # something to sell
        moved = self.model.token_end[(asset, seller.address)]
        price = st_price + 1
        token_id = self.tokens.licenseId(asset, DOWNLOAD, True)
        self.tokens.listForResale(token_id, self.pay, price, {"from": seller})
        tx = self.tokens.buyResale(token_id, seller, self.pay, price, {"from": buyer})
        royalty = price * self.model.royalty[asset] // BPS
        if royalty:
            self.model.split(asset, royalty, self.treasury.address, tx.timestamp)
        self.model.balances[seller.address] += price - royalty
        theirs = self.model.token_end[(asset, buyer.address)]
        self.model.token_end[(asset, buyer.address)] = max(moved, theirs)
        self.model.token_end[(asset, seller.address)] = 0
        assert self.pay.balanceOf(self.tokens) == 0

    def rule_grant(self, st_other: int, st_asset: int, st_scope: int, st_days: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        licensee = self.accounts[st_other]
        expires = chain[-1].timestamp + (st_days + 1) * DAY
        owner = self._owner_account(asset)
        self.registry.grant(asset, licensee, st_scope, expires, {"from": owner})
        self.model.granted[(asset, licensee.address, st_scope)] = expires

    def rule_revoke(self, st_other: int, st_asset: int, st_scope: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        licensee = self.accounts[st_other]
        self.registry.revokeGrant(asset, licensee, st_scope, {"from": self._owner_account(asset)})
        self.model.granted[(asset, licensee.address, st_scope)] = 0

    def rule_set_curator_share(self, st_asset: int, st_bps: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        tx = self.registry.setCuratorShare(asset, st_bps, {"from": self._owner_account(asset)})
        self.model.set_curator_share(asset, st_bps, tx.timestamp)

    def rule_stake(self, st_actor: int, st_asset: int, st_amount: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        staker = self.accounts[st_actor]
        tx = self.registry.stake(asset, st_amount, {"from": staker})
        key = (asset, staker.address)
        self.model.activate(asset, staker.address, tx.timestamp)
        warming, _ = self.model.warming.get(key, (0, 0))
        self.model.warming[key] = (warming + st_amount, tx.timestamp + UNBONDING_DELAY)

    def rule_activate(self, st_actor: int, st_other: int, st_asset: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        staker = self.accounts[st_other]
        tx = self.registry.activateStake(asset, staker, {"from": self.accounts[st_actor]})
        self.model.activate(asset, staker.address, tx.timestamp)

    def rule_warm_up_passes(self) -> None:
        """A warm-up later every warming stake is activated (each staker's next action would)."""
        chain.sleep(UNBONDING_DELAY + 1)
        chain.mine()
        for (asset, staker), (amount, _) in list(self.model.warming.items()):
            if amount:
                tx = self.registry.activateStake(asset, staker, {"from": staker})
                self.model.activate(asset, staker, tx.timestamp)

    def rule_request_unstake(self, st_actor: int, st_asset: int, st_amount: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        staker = self.accounts[st_actor]
        key = (asset, staker.address)
        warming, active_at = self.model.warming.get(key, (0, 0))
        amount = min(st_amount, warming + self.model.stake[key])
        if amount == 0:
            return
        tx = self.registry.requestUnstake(asset, amount, {"from": staker})
        self.model.activate(asset, staker.address, tx.timestamp)
        warming, active_at = self.model.warming.get(key, (0, 0))
        from_warming = min(amount, warming)
        self.model.warming[key] = (
            warming - from_warming, active_at if warming > from_warming else 0
        )
        if amount > from_warming:
            self.model.settle(asset, staker.address)
            self.model.stake[key] -= amount - from_warming
        pending, _ = self.model.unbonding.get(key, (0, 0))
        self.model.unbonding[key] = (pending + amount, tx.return_value)

    def rule_withdraw_stake(self, st_actor: int, st_asset: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        staker = self.accounts[st_actor]
        key = (asset, staker.address)
        amount, available_at = self.model.unbonding.get(key, (0, 0))
        if amount == 0 or chain[-1].timestamp < available_at + 2:
            return
        before = self.token.balanceOf(staker)
        self.registry.withdrawStake(asset, {"from": staker})
        assert self.token.balanceOf(staker) - before == amount
        del self.model.unbonding[key]

    def rule_claim(self, st_actor: int, st_asset: int) -> None:
        asset = self._asset(st_asset)
        if asset is not None:
            self._claim(asset, self.accounts[st_actor], None)

    def rule_claim_reward_to(self, st_actor: int, st_other: int, st_asset: int) -> None:
        asset = self._asset(st_asset)
        if asset is not None:
            self._claim(asset, self.accounts[st_actor], self.accounts[st_other])

    def rule_withdraw(self, st_actor: int) -> None:
        account = self.accounts[st_actor]
        amount = self.model.balances[account.address]
        if amount == 0:
            return
        before = self.pay.balanceOf(account)
        self.registry.withdraw(self.pay, {"from": account})
        assert self.pay.balanceOf(account) - before == amount
        self.model.balances[account.address] = 0

    def rule_withdraw_treasury(self) -> None:
        amount = self.model.balances[self.treasury.address]
        if amount:
            self.registry.withdrawTo(self.pay, self.treasury, {"from": self.treasury})
            self.model.balances[self.treasury.address] = 0

    def rule_transfer_nft(self, st_asset: int, st_other: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        owner, receiver = self._owner_account(asset), self.accounts[st_other]
        self.registry.transferFrom(owner, receiver, asset, {"from": owner})
        self.model.owner[asset] = receiver.address

    def rule_time_passes(self, st_days: int) -> None:
        chain.sleep(st_days * DAY // 4 + 1)
        chain.mine()

    # ---- invariants: the money equations
    def invariant_registry_can_pay_everything_it_owes(self) -> None:
        """From the chain's own numbers, not the model's: held >= owed, dust bounded."""
        owed = sum(
            self.registry.payoutBalance(a, self.pay) for a in [*self.accounts, self.treasury]
        )
        owed += sum(
            self.registry.earned(asset, s, self.pay) for asset in self.assets for s in self.accounts
        )
        dust = self.pay.balanceOf(self.registry) - owed
        assert 0 <= dust <= self.model.dust_bound

    def invariant_stakers_never_claim_more_than_was_set_aside(self) -> None:
        for asset in self.assets:
            claimable = sum(self.model.earned(asset, s.address) for s in self.accounts)
            assert claimable + self.model.claimed[asset] <= self.model.set_aside[asset]

    def invariant_payout_balances_match_model(self) -> None:
        for account in [*self.accounts, self.treasury]:
            assert self.registry.payoutBalance(account, self.pay) == self.model.balances[
                account.address
            ]

    def invariant_rewards_and_stakes_match_model(self) -> None:
        staked = 0
        for asset in self.assets:
            assert self.registry.totalStaked(asset) == self.model.total_staked(asset)
            for staker in self.accounts:
                key = (asset, staker.address)
                assert self.registry.earned(asset, staker, self.pay) == self.model.earned(*key)
                warming = self.model.warming.get(key, (0, 0))
                unbonding = self.model.unbonding.get(key, (0, 0))
                assert tuple(self.registry.stakeOf(asset, staker)) == (
                    self.model.stake[key], *unbonding
                )
                assert tuple(self.registry.warmingStake(asset, staker)) == warming
                staked += self.model.stake[key] + warming[0] + unbonding[0]
        assert self.token.balanceOf(self.registry) == staked

    def invariant_licenses_match_model(self) -> None:
        now = chain[-1].timestamp
        for asset in self.assets:
            for account in self.accounts:
                for scope in (DOWNLOAD, COMPUTE):
                    key = (asset, account.address, scope)
                    assert self.registry.hasLicense(asset, account, scope) == (
                        self.model.has_license(key, now)
                    ), key

    def teardown(self) -> None:
        """Everything owed can be withdrawn, to the last wei, and nothing more."""
        held = self.pay.balanceOf(self.registry)
        owed = sum(self.model.balances.values()) + sum(
            self.model.earned(asset, s.address) for asset in self.assets for s in self.accounts
        )
        for asset in self.assets:
            for staker in self.accounts:
                self._claim(asset, staker, None)
        for account in self.accounts:
            self.rule_withdraw(self.accounts.index(account))
        self.rule_withdraw_treasury()
        left = self.pay.balanceOf(self.registry)
        assert held - left == owed  # paid out exactly what was owed
        assert 0 <= left <= self.model.dust_bound


def test_registry_money_and_licenses_hold_under_random_use(
    state_machine: Any, accounts: Any, registry: Any, token: Any, TestToken: Any, admin: Any,
    treasury: Any, LicenseTokens: Any,
) -> None:
    pay = TestToken.deploy("Payment Token", "PAY", {"from": admin})
    registry.setPaymentToken(pay, True, {"from": admin})
    tokens = LicenseTokens.deploy(registry, {"from": admin})
    registry.setLicenseTokens(tokens, {"from": admin})
    for account in accounts[1:6]:
        pay.mint(account, 10**24, {"from": admin})
        pay.approve(registry, MAX_UINT, {"from": account})
        pay.approve(tokens, MAX_UINT, {"from": account})
    run_stateful(
        state_machine, RegistryStateMachine, accounts, registry, token, pay, treasury, tokens,
        examples=12, steps=25,
    )
