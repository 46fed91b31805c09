"""Stateful test of the ComputeMarket's money: random channels (open, top up, redeem random
cumulative vouchers, reclaim) and jobs (create, submit, finalize, expire) while time passes.

Invariants: the market holds exactly the open channels' remaining deposits + the escrow of unsettled
jobs + the provider's stake, and every account received exactly what the model says (nobody is paid
twice)."""

from __future__ import annotations

import brownie
from brownie import chain
from brownie.test import strategy
from compute_helpers import *  # noqa: F403 (fixtures)
from compute_helpers import (
    CHALLENGE_WINDOW,
    JOB_COLLATERAL,
    MAX_UINT,
    MIN_STAKE,
    PROVIDER_FEE,
    STAKE,
    TOKEN,
    sign_voucher,
)
from conftest import cid

HOUR = 3600
BUYER_KEYS = ["0x" + "31" * 32, "0x" + "32" * 32]
# Successful actions over all examples: proves the random runs reach the interesting paths.
TOTALS: dict[str, int] = {}


class MarketMachine:
    st_index = strategy("uint8")
    st_amount = strategy("uint256", min_value=1, max_value=40)
    st_hours = strategy("uint256", min_value=1, max_value=72)
    st_fraction = strategy("uint256", min_value=0, max_value=120)

    def __init__(cls, market, token, provider, job_buyer, asset, algorithm, channel_buyers):
        cls.market, cls.token, cls.provider = market, token, provider
        cls.job_buyer, cls.asset, cls.algorithm = job_buyer, asset, algorithm
        cls.channel_buyers = channel_buyers

    def setup(self):
        self.channels: dict[int, dict] = {}
        self.jobs: dict[int, dict] = {}
        self.stake = STAKE
        self.tracked = [self.provider, self.job_buyer, *self.channel_buyers]
        self.expected = {a.address: self.token.balanceOf(a) for a in self.tracked}
        self.counts: dict[str, int] = {}

    def teardown(self):
        self._count("examples")
        for name, count in self.counts.items():
            TOTALS[name] = TOTALS.get(name, 0) + count

    # ---- helpers
    def _pick(self, items, index):
        keys = sorted(items)
        return keys[index % len(keys)] if keys else None

    def _count(self, name):
        self.counts[name] = self.counts.get(name, 0) + 1

    def _pay(self, account, amount):
        self.expected[account.address] += amount

    # ---- start every example with a channel per buyer and a job, so short runs still settle money
    def initialize_channels(self, amount="st_amount", hours="st_hours"):
        for index in range(len(self.channel_buyers)):
            self.rule_open(index, amount, hours)

    def initialize_job(self, hours="st_hours"):
        self.rule_create_job(hours + 24)  # long enough to be served in some runs

    # ---- channel rules
    def rule_open(self, index="st_index", amount="st_amount", hours="st_hours"):
        buyer = self.channel_buyers[index % len(self.channel_buyers)]
        expiry = chain[-1].timestamp + hours * HOUR
        deposit = amount * TOKEN
        if self.stake < MIN_STAKE:  # slashed below the minimum: no new channels
            with brownie.reverts():
                self.market.openChannel(self.provider, deposit, expiry, {"from": buyer})
            return
        channel_id = self.market.openChannel(
            self.provider, deposit, expiry, {"from": buyer}
        ).return_value
        self._count("open")
        self.channels[channel_id] = {
            "buyer": buyer,
            "deposit": deposit,
            "redeemed": 0,
            "expiry": expiry,
        }
        self._pay(buyer, -deposit)

    def rule_top_up(self, index="st_index", amount="st_amount"):
        channel_id = self._pick(self.channels, index)
        if channel_id is None:
            return
        channel = self.channels[channel_id]
        self.market.topUp(channel_id, amount * TOKEN, {"from": channel["buyer"]})
        channel["deposit"] += amount * TOKEN
        self._pay(channel["buyer"], -amount * TOKEN)

    def rule_redeem(self, index="st_index", fraction="st_fraction"):
        channel_id = self._pick(self.channels, index)
        if channel_id is None:
            return
        channel = self.channels[channel_id]
        # 0..120 % of the deposit: some vouchers are old, some too large.
        cumulative = channel["deposit"] * fraction // 100
        signature = sign_voucher(channel["buyer"], self.market, channel_id, cumulative)
        if channel["redeemed"] < cumulative <= channel["deposit"]:
            self.market.redeem(channel_id, cumulative, signature, {"from": self.provider})
            self._pay(self.provider, cumulative - channel["redeemed"])
            channel["redeemed"] = cumulative
            self._count("redeem")
        else:
            self._count("rejected voucher")
            with brownie.reverts():
                self.market.redeem(channel_id, cumulative, signature, {"from": self.provider})

    def rule_reclaim(self, index="st_index"):
        channel_id = self._pick(self.channels, index)
        if channel_id is None:
            return
        channel = self.channels[channel_id]
        now = chain[-1].timestamp
        remaining = channel["deposit"] - channel["redeemed"]
        if now < channel["expiry"] - 5 or (now >= channel["expiry"] and remaining == 0):
            with brownie.reverts():
                self.market.reclaim(channel_id, {"from": channel["buyer"]})
        elif now >= channel["expiry"]:
            tx = self.market.reclaim(channel_id, {"from": channel["buyer"]})
            assert tx.return_value == remaining
            channel["deposit"] = channel["redeemed"]
            self._pay(channel["buyer"], remaining)
            self._count("reclaim")

    # ---- job rules
    def rule_create_job(self, hours="st_hours"):
        deadline = chain[-1].timestamp + hours * HOUR
        locked = sum(j["collateral"] for j in self.jobs.values() if j["status"] != "settled")
        if self.stake - locked < JOB_COLLATERAL or self.stake < MIN_STAKE:
            with brownie.reverts():
                self.market.createJob(
                    self.asset,
                    self.algorithm,
                    self.provider,
                    deadline,
                    PROVIDER_FEE,
                    {"from": self.job_buyer},
                )
            return
        job_id = self.market.createJob(
            self.asset,
            self.algorithm,
            self.provider,
            deadline,
            PROVIDER_FEE,
            {"from": self.job_buyer},
        ).return_value
        self.jobs[job_id] = {
            "status": "open",
            "deadline": deadline,
            "collateral": JOB_COLLATERAL,
            "end": 0,
        }
        self._pay(self.job_buyer, -PROVIDER_FEE)

    def rule_submit(self, index="st_index"):
        open_jobs = {
            i: j
            for i, j in self.jobs.items()
            if j["status"] == "open" and chain[-1].timestamp + 5 < j["deadline"]
        }
        job_id = self._pick(open_jobs, index)
        if job_id is None:
            return
        tx = self.market.submitResult(
            job_id, cid(f"r{job_id}"), b"\x01" * 32, {"from": self.provider}
        )
        self.jobs[job_id].update(status="submitted", end=tx.timestamp + CHALLENGE_WINDOW)

    def rule_settle(self):
        """Anyone settles every job that can be settled now: finalize after the window, expire
        after a missed deadline."""
        now = chain[-1].timestamp
        for job_id, job in self.jobs.items():
            if job["status"] == "submitted" and now > job["end"] + 5:
                self.market.finalize(job_id, {"from": self.job_buyer})
                self._pay(self.provider, PROVIDER_FEE)
                job["status"] = "settled"
                self._count("finalize")
            elif job["status"] == "open" and now > job["deadline"] + 5:
                self.market.expire(job_id, {"from": self.job_buyer})
                self._pay(self.job_buyer, PROVIDER_FEE + job["collateral"])
                self.stake -= job["collateral"]
                job["status"] = "settled"
                self._count("expire")

    def rule_settle_too_early_or_twice(self, index="st_index"):
        job_id = self._pick(self.jobs, index)
        if job_id is None:
            return
        job, now = self.jobs[job_id], chain[-1].timestamp
        if job["status"] == "open" and now + 5 < job["deadline"]:
            with brownie.reverts():
                self.market.expire(job_id, {"from": self.job_buyer})
        elif job["status"] == "settled" or (job["status"] == "submitted" and now + 5 < job["end"]):
            with brownie.reverts():
                self.market.finalize(job_id, {"from": self.job_buyer})

    def rule_sleep(self, hours="st_hours"):
        self._count("sleep")
        chain.sleep(hours * HOUR)
        chain.mine()

    # ---- invariants
    def invariant_market_holds_exactly_its_debts(self):
        channels = sum(c["deposit"] - c["redeemed"] for c in self.channels.values())
        jobs = sum(PROVIDER_FEE for j in self.jobs.values() if j["status"] != "settled")
        assert self.token.balanceOf(self.market) == channels + jobs + self.stake
        info = self.market.getProvider(self.provider).dict()
        assert info["stake"] == self.stake
        assert info["locked"] == sum(
            j["collateral"] for j in self.jobs.values() if j["status"] != "settled"
        )

    def invariant_nobody_paid_twice(self):
        for account in self.tracked:
            assert self.token.balanceOf(account) == self.expected[account.address], account

    def invariant_channels_match_model(self):
        for channel_id, channel in self.channels.items():
            stored = self.market.getChannel(channel_id).dict()
            assert (stored["deposit"], stored["redeemed"]) == (
                channel["deposit"],
                channel["redeemed"],
            )


def test_market_money_invariants(
    state_machine, market, token, registered, asset, algorithm, licensed, accounts, admin
):
    buyers = []
    for key in BUYER_KEYS:
        local = accounts.add(key)
        admin.transfer(local, 10 * TOKEN)
        token.mint(local, 100_000 * TOKEN, {"from": admin})
        token.approve(market, MAX_UINT, {"from": local})
        buyers.append(local)
    state_machine(
        MarketMachine,
        market,
        token,
        registered,
        licensed,
        asset,
        algorithm,
        buyers,
        # derandomize: the same runs every time, so the coverage check below cannot flake.
        settings={
            "max_examples": 20,
            "stateful_step_count": 25,
            "derandomize": True,
            "database": None,
        },
    )
    print("\nstateful totals:", TOTALS)
    for action in ("redeem", "rejected voucher", "reclaim", "finalize", "expire"):
        assert TOTALS.get(action, 0) > 0, action
