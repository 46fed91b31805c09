"""Money equations of the registry under random sequences of user actions.

Rules are what users do (publish, buy, grant, revoke, stake, unstake, claim, withdraw, transfer
the NFT, let time pass); a Python model replays the same arithmetic. Invariants: every payout
balance and every pending reward equals the model's; the registry holds exactly what it owes
plus rounding dust bounded by the number of distributions; `hasLicense` agrees with the model
at the chain's current time; nobody withdraws more than they were credited.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from brownie import chain
from brownie.test import strategy
from conftest import COMPUTE, DATASET, DAY, DOWNLOAD, PROTOCOL_FEE_BPS, cid
from hypothesis import HealthCheck

PRECISION = 10**18
PERPETUAL = 2**64 - 1
BPS = 10_000


class RegistryModel:
    """The registry's arithmetic in Python, step by step the same as the contract."""

    def __init__(self) -> None:
        self.balances: dict[str, int] = defaultdict(int)
        self.owner: dict[int, str] = {}
        self.curator_bps: dict[int, int] = {}
        self.offers: dict[int, list[tuple[int, int, int]]] = {}  # (price, duration, scope)
        self.bought: dict[tuple[int, str, int], int] = defaultdict(int)
        self.granted: dict[tuple[int, str, int], int] = defaultdict(int)
        self.per_share: dict[int, int] = defaultdict(int)
        self.stake: dict[tuple[int, str], int] = defaultdict(int)
        self.unbonding: dict[tuple[int, str], tuple[int, int]] = {}
        self.paid: dict[tuple[int, str], int] = defaultdict(int)
        self.rewards: dict[tuple[int, str], int] = defaultdict(int)
        self.distributions = 0

    def total_staked(self, asset: int) -> int:
        return sum(v for (a, _), v in self.stake.items() if a == asset)

    def settle(self, asset: int, staker: str) -> None:
        key = (asset, staker)
        per_share = self.per_share[asset]
        self.rewards[key] += self.stake[key] * (per_share - self.paid[key]) // PRECISION
        self.paid[key] = per_share

    def earned(self, asset: int, staker: str) -> int:
        key = (asset, staker)
        return self.rewards[key] + self.stake[key] * (
            self.per_share[asset] - self.paid[key]
        ) // PRECISION

    def split(self, asset: int, amount: int, treasury: str) -> None:
        fee = amount * PROTOCOL_FEE_BPS // BPS
        curators = amount * self.curator_bps[asset] // BPS
        rest = curators
        total = self.total_staked(asset)
        if total and curators:
            increment = curators * PRECISION // total
            self.per_share[asset] += increment
            rest = curators - increment * total // PRECISION
            self.distributions += 1
        self.balances[treasury] += fee
        self.balances[self.owner[asset]] += amount - fee - curators + rest

    def extend(self, key: tuple[int, str, int], duration: int, now: int) -> None:
        current = self.bought[key]
        if duration == 0 or current == PERPETUAL:
            self.bought[key] = PERPETUAL
        else:
            self.bought[key] = min(max(current, now) + duration, PERPETUAL)

    def has_license(self, key: tuple[int, str, int], now: int) -> bool:
        return max(self.bought[key], self.granted[key]) > now


class RegistryStateMachine:
    st_actor = strategy("uint8", max_value=4)
    st_other = strategy("uint8", max_value=4)
    st_asset = strategy("uint8", max_value=3)
    st_offer = strategy("uint8", max_value=1)
    st_bps = strategy("uint16", max_value=5000)
    st_price = strategy("uint256", max_value=10**21)
    st_amount = strategy("uint256", min_value=1, max_value=10**21)
    st_days = strategy("uint8", max_value=40)
    st_scope = strategy("uint8", max_value=1)

    def __init__(cls, accounts: Any, registry: Any, token: Any, treasury: Any) -> None:
        cls.accounts = accounts[1:6]
        cls.registry = registry
        cls.token = token
        cls.treasury = treasury

    def setup(self) -> None:
        self.model = RegistryModel()
        self.assets: list[int] = []
        self.withdrawn: dict[str, int] = defaultdict(int)
        self.credited_seen: dict[str, int] = defaultdict(int)

    # ---- helpers
    def _asset(self, index: int) -> int | None:
        return self.assets[index % len(self.assets)] if self.assets else None

    def _owner_account(self, asset: int) -> Any:
        return next(a for a in self.accounts if a.address == self.model.owner[asset])

    # ---- rules: what users do
    def rule_publish(self, st_actor: int, st_bps: int, st_price: int, st_days: int) -> None:
        if len(self.assets) >= 4:
            return
        publisher = self.accounts[st_actor]
        offers = [
            (self.token.address, st_price, st_days * DAY, DOWNLOAD),
            (self.token.address, st_price // 3, 0, COMPUTE),
        ]
        label = f"asset-{len(self.assets)}"
        tx = self.registry.publish(
            DATASET, cid(label), cid(label + "-meta"), st_bps, offers, {"from": publisher}
        )
        asset = tx.return_value
        self.assets.append(asset)
        self.model.owner[asset] = publisher.address
        self.model.curator_bps[asset] = st_bps
        self.model.offers[asset] = [(o[1], o[2], o[3]) for o in offers]

    def rule_buy(self, st_actor: int, st_other: int, st_asset: int, st_offer: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        price, duration, scope = self.model.offers[asset][st_offer]
        buyer, licensee = self.accounts[st_actor], self.accounts[st_other]
        tx = self.registry.buy(asset, st_offer + 1, licensee, price, {"from": buyer})
        self.model.extend((asset, licensee.address, scope), duration, tx.timestamp)
        if price:
            self.model.split(asset, price, self.treasury.address)

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

    def rule_stake(self, st_actor: int, st_asset: int, st_amount: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        staker = self.accounts[st_actor]
        self.model.settle(asset, staker.address)
        self.registry.stake(asset, st_amount, {"from": staker})
        self.model.stake[(asset, staker.address)] += st_amount

    def rule_request_unstake(self, st_actor: int, st_asset: int, st_amount: int) -> None:
        asset = self._asset(st_asset)
        if asset is None:
            return
        staker = self.accounts[st_actor]
        key = (asset, staker.address)
        amount = min(st_amount, self.model.stake[key])
        if amount == 0:
            return
        self.model.settle(asset, staker.address)
        tx = self.registry.requestUnstake(asset, amount, {"from": staker})
        self.model.stake[key] -= amount
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
        if asset is None:
            return
        staker = self.accounts[st_actor]
        self.model.settle(asset, staker.address)
        reward = self.model.rewards[(asset, staker.address)]
        if reward == 0:
            return
        before = self.token.balanceOf(staker)
        self.registry.claim(asset, {"from": staker})
        assert self.token.balanceOf(staker) - before == reward
        self.model.rewards[(asset, staker.address)] = 0

    def rule_withdraw(self, st_actor: int) -> None:
        account = self.accounts[st_actor]
        amount = self.model.balances[account.address]
        if amount == 0:
            return
        before = self.token.balanceOf(account)
        self.registry.withdraw(self.token, {"from": account})
        assert self.token.balanceOf(account) - before == amount
        self.withdrawn[account.address] += amount
        self.model.balances[account.address] = 0

    def rule_withdraw_treasury(self) -> None:
        amount = self.model.balances[self.treasury.address]
        if amount:
            self.registry.withdrawTo(self.token, self.treasury, {"from": self.treasury})
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
    def invariant_payout_balances_match_model(self) -> None:
        for account in [*self.accounts, self.treasury]:
            assert self.registry.payoutBalance(account, self.token) == self.model.balances[
                account.address
            ]

    def invariant_rewards_match_model(self) -> None:
        for asset in self.assets:
            for staker in self.accounts:
                assert self.registry.earned(asset, staker, self.token) == self.model.earned(
                    asset, staker.address
                )

    def invariant_registry_holds_what_it_owes(self) -> None:
        owed = sum(self.model.balances.values())
        owed += sum(self.model.earned(a, s.address) for a in self.assets for s in self.accounts)
        owed += sum(self.model.stake.values())
        owed += sum(amount for amount, _ in self.model.unbonding.values())
        held = self.token.balanceOf(self.registry)
        dust = held - owed
        assert 0 <= dust <= self.model.distributions * len(self.accounts)

    def invariant_licenses_match_model(self) -> None:
        now = chain[-1].timestamp
        for asset in self.assets:
            for account in self.accounts:
                for scope in (DOWNLOAD, COMPUTE):
                    key = (asset, account.address, scope)
                    assert self.registry.hasLicense(asset, account, scope) == (
                        self.model.has_license(key, now)
                    ), key


def test_registry_money_and_licenses_hold_under_random_use(
    state_machine: Any, accounts: Any, registry: Any, token: Any, treasury: Any
) -> None:
    state_machine(
        RegistryStateMachine, accounts, registry, token, treasury,
        # derandomize: the same runs every time, so CI cannot fail on a rare random draw
        settings={"max_examples": 12, "stateful_step_count": 25, "derandomize": True,
                  "database": None, "suppress_health_check": [HealthCheck.data_too_large]},
    )
