"""Stateful test of the ComputeMarket's money: random channels (open, top up, redeem one voucher or
a compact batch, reclaim) and jobs (create with short or long deadlines, accept, submit, decline,
cancel, dispute with a bond, resolve either way, finalize, expire, stale disputes) while the
provider reprices, the admin changes the params, accounts withdraw and time passes in steps from
one second to days. Amounts are odd (any wei), so rounding and off-by-one errors show.

Invariants:
- the market holds exactly what it owes: open channels' remaining deposits + escrow (and bond) of
  unsettled jobs + the provider's stake + every credited balance (`claimable`);
- every account's token balance and every `claimable` equal the model's (nobody paid twice,
  nothing lost);
- no provider loses collateral to a job it could not have finished: the stake only falls by the
  collateral of jobs the provider accepted and then failed; `locked` is the collateral of accepted,
  unsettled jobs;
- everything owed can be withdrawn to the last wei: at the end of every sequence all jobs are
  settled, channels reclaimed, balances withdrawn and the stake taken out, and the market holds 0.

`make test` runs a short derandomized sample; `make fuzz` runs it long
(tests/contracts/fuzz_settings.py).
"""

from __future__ import annotations

import brownie
from brownie import chain
from brownie.test import strategy
from compute_helpers import *  # noqa: F403 (fixtures)
from compute_helpers import (
    ARBITRATION_PERIOD,
    CHALLENGE_WINDOW,
    DAY,
    DISPUTE_BOND_BPS,
    ENDPOINT,
    EXIT_DELAY,
    JOB_COLLATERAL,
    MAX_JOB_DURATION,
    MAX_UINT,
    MIN_STAKE,
    PROVIDER_FEE,
    STAKE,
    TOKEN,
    compact_voucher,
    sign_voucher,
)
from conftest import cid
from fuzz_settings import run_stateful

BUYER_KEYS = ["0x" + "31" * 32, "0x" + "32" * 32]
MARGIN = 5  # seconds: closer than this to a deadline or window end, a rule does nothing
# Successful actions over all examples: proves the random runs reach the interesting paths.
TOTALS: dict[str, int] = {}
UNSETTLED = ("open", "accepted", "submitted", "disputed")
LOCKING = ("accepted", "submitted", "disputed")


class MarketMachine:
    st_index = strategy("uint8")
    st_amount = strategy("uint256", min_value=1, max_value=40 * TOKEN)
    st_price = strategy("uint256", min_value=0, max_value=10 * TOKEN)
    st_seconds = strategy("uint256", min_value=10, max_value=3 * DAY)
    st_sleep = strategy("uint256", min_value=1, max_value=3 * DAY)
    st_fraction = strategy("uint256", min_value=0, max_value=120)
    st_collateral = strategy("uint256", min_value=0, max_value=120 * TOKEN)
    st_window = strategy("uint256", min_value=3600, max_value=2 * DAY)
    st_bond = strategy("uint256", min_value=0, max_value=5000)
    st_bool = strategy("bool")

    def __init__(cls, market, token, provider, job_buyer, admin, asset, algorithm, buyers):
        cls.market, cls.token, cls.provider, cls.admin = market, token, provider, admin
        cls.job_buyer, cls.asset, cls.algorithm = job_buyer, asset, algorithm
        cls.channel_buyers = buyers

    def setup(self):
        # After Brownie's revert the latest block is the snapshot's, minutes old on ganache: mine
        # one so that "now" (the latest block's time) is the time the next transaction sees.
        chain.mine()
        self.channels: dict[int, dict] = {}
        self.jobs: dict[int, dict] = {}
        self.stake = STAKE
        self.price = PROVIDER_FEE
        self.params = {
            "collateral": JOB_COLLATERAL,
            "window": CHALLENGE_WINDOW,
            "arbitration": ARBITRATION_PERIOD,
            "bond": DISPUTE_BOND_BPS,
        }
        self.tracked = [self.provider, self.job_buyer, *self.channel_buyers]
        self.expected = {a.address: self.token.balanceOf(a) for a in self.tracked}
        self.claims = {a.address: 0 for a in self.tracked}
        self.counts: dict[str, int] = {}

    def teardown(self):
        self._count("examples")
        self._drain()
        for name, count in self.counts.items():
            TOTALS[name] = TOTALS.get(name, 0) + count

    # ---- helpers
    def _now(self):
        return chain[-1].timestamp

    def _pick(self, items, index):
        keys = sorted(items)
        return keys[index % len(keys)] if keys else None

    def _jobs_in(self, *statuses):
        return {i: j for i, j in self.jobs.items() if j["status"] in statuses}

    def _count(self, name):
        self.counts[name] = self.counts.get(name, 0) + 1

    def _pay(self, account, amount):
        self.expected[account.address] += amount

    def _credit(self, account, amount):
        self.claims[account.address] += amount

    def _locked(self):
        return sum(j["collateral"] for j in self._jobs_in(*LOCKING).values())

    def _bond(self, job):
        return job["fee"] * job["bond_bps"] // 10_000

    def _settle_for_provider(self, job, bond):
        job["status"] = "settled"
        self._credit(self.provider, job["fee"] + bond)

    def _settle_for_buyer(self, job, slash, bond=0):
        """Refund; slash only what the provider accepted (it had the chance to act)."""
        if slash and job["status"] in LOCKING and job["collateral"]:
            assert job["accepted"]
            self.stake -= job["collateral"]
            self._credit(self.job_buyer, job["collateral"])
            self._count("slash")
        job["status"] = "settled"
        self._credit(self.job_buyer, job["fee"] + bond)

    # ---- start every example with a channel per buyer and a job
    def initialize_channels(self, amount="st_amount", seconds="st_seconds"):
        for index in range(len(self.channel_buyers)):
            self.rule_open(index, amount, seconds)

    def initialize_job(self, seconds="st_seconds"):
        self.rule_create_job(seconds)

    def initialize_submitted_job(self, seconds="st_seconds"):
        """A job with a result posted, so short runs reach disputes and finalize too."""
        self.rule_create_job(seconds + 3600)
        self.rule_submit(len(self.jobs) - 1)

    # ---- channel rules
    def rule_open(self, index="st_index", amount="st_amount", seconds="st_seconds"):
        buyer = self.channel_buyers[index % len(self.channel_buyers)]
        expiry = self._now() + seconds
        if self.stake < MIN_STAKE:  # slashed below the minimum: no new channels
            with brownie.reverts():
                self.market.openChannel(self.provider, self.token, amount, expiry, {"from": buyer})
            return
        tx = self.market.openChannel(self.provider, self.token, amount, expiry, {"from": buyer})
        self._count("open")
        self.channels[tx.return_value] = {
            "buyer": buyer,
            "deposit": amount,
            "redeemed": 0,
            "expiry": expiry,
        }
        self._pay(buyer, -amount)

    def rule_top_up(self, index="st_index", amount="st_amount"):
        channel_id = self._pick(self.channels, index)
        if channel_id is None:
            return
        channel = self.channels[channel_id]
        self.market.topUp(channel_id, amount, {"from": channel["buyer"]})
        channel["deposit"] += amount
        self._pay(channel["buyer"], -amount)

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

    def rule_redeem_batch(self, fraction="st_fraction"):
        """The gateway's batch: every channel with a newer voucher at `fraction` of its deposit."""
        batch = []
        for channel_id, channel in sorted(self.channels.items()):
            cumulative = channel["deposit"] * min(fraction, 100) // 100
            if channel["redeemed"] < cumulative:
                batch.append((channel_id, cumulative))
        if not batch:
            return
        vouchers = [
            compact_voucher(self.channels[i]["buyer"], self.market, i, c) for i, c in batch
        ]
        self.market.redeemMany(vouchers, {"from": self.provider})
        for channel_id, cumulative in batch:
            channel = self.channels[channel_id]
            self._pay(self.provider, cumulative - channel["redeemed"])
            channel["redeemed"] = cumulative
        self._count("redeem batch")

    def rule_reclaim(self, index="st_index"):
        channel_id = self._pick(self.channels, index)
        if channel_id is None:
            return
        channel = self.channels[channel_id]
        now = self._now()
        remaining = channel["deposit"] - channel["redeemed"]
        if now < channel["expiry"] - MARGIN or (now >= channel["expiry"] and remaining == 0):
            with brownie.reverts():
                self.market.reclaim(channel_id, {"from": channel["buyer"]})
        elif now >= channel["expiry"]:
            tx = self.market.reclaim(channel_id, {"from": channel["buyer"]})
            assert tx.return_value == remaining
            channel["deposit"] = channel["redeemed"]
            self._pay(channel["buyer"], remaining)
            self._count("reclaim")

    # ---- provider and admin
    def rule_reprice(self, price="st_price"):
        self.market.updateProvider(ENDPOINT, self.token, price, {"from": self.provider})
        self.price = price

    def rule_set_params(
        self, collateral="st_collateral", window="st_window", bond="st_bond", hours="st_index"
    ):
        arbitration = DAY + hours * 3600
        self.market.setParams(
            (collateral, MAX_JOB_DURATION, window, arbitration, EXIT_DELAY, MIN_STAKE, bond),
            {"from": self.admin},
        )
        self.params = {
            "collateral": collateral,
            "window": window,
            "arbitration": arbitration,
            "bond": bond,
        }
        self._count("set params")

    # ---- job rules
    def rule_create_job(self, seconds="st_seconds"):
        deadline = self._now() + seconds
        args = (self.asset, self.algorithm, self.provider, deadline, self.token, self.price)
        if self.stake < MIN_STAKE:
            with brownie.reverts():
                self.market.createJob(*args, {"from": self.job_buyer})
            return
        job_id = self.market.createJob(*args, {"from": self.job_buyer}).return_value
        self.jobs[job_id] = {
            "status": "open",
            "accepted": False,
            "deadline": deadline,
            "fee": self.price,
            "collateral": self.params["collateral"],
            "window": self.params["window"],
            "arbitration": self.params["arbitration"],
            "bond_bps": self.params["bond"],
            "end": 0,
        }
        self._pay(self.job_buyer, -self.price)
        self._count("create")

    def _can_lock(self, job):
        return self.stake - self._locked() >= job["collateral"]

    def rule_accept(self, index="st_index"):
        job_id = self._pick(self._jobs_in("open"), index)
        if job_id is None:
            return
        job, now = self.jobs[job_id], self._now()
        if now + MARGIN < job["deadline"] and self._can_lock(job):
            self.market.acceptJob(job_id, {"from": self.provider})
            job.update(status="accepted", accepted=True)
            self._count("accept")
        elif now > job["deadline"] + MARGIN or now + MARGIN < job["deadline"]:
            with brownie.reverts():
                self.market.acceptJob(job_id, {"from": self.provider})

    def rule_submit(self, index="st_index"):
        job_id = self._pick(self._jobs_in("open", "accepted"), index)
        if job_id is None:
            return
        job = self.jobs[job_id]
        if self._now() + MARGIN >= job["deadline"]:
            return
        if job["status"] == "open" and not self._can_lock(job):
            with brownie.reverts():
                self.market.submitResult(job_id, cid("r"), b"\x01" * 32, {"from": self.provider})
            return
        tx = self.market.submitResult(job_id, cid("r"), b"\x01" * 32, {"from": self.provider})
        job.update(status="submitted", accepted=True, end=tx.timestamp + job["window"])
        self._count("submit")

    def rule_decline(self, index="st_index"):
        job_id = self._pick(self._jobs_in("open", "accepted"), index)
        if job_id is None:
            return
        job, now = self.jobs[job_id], self._now()
        if now + MARGIN < job["deadline"]:
            self.market.declineJob(job_id, {"from": self.provider})
            self._settle_for_buyer(job, slash=True)
            self._count("decline")
        elif now > job["deadline"] + MARGIN:
            with brownie.reverts():  # too late: only `expire` settles (and slashes if accepted)
                self.market.declineJob(job_id, {"from": self.provider})

    def rule_cancel(self, index="st_index"):
        job_id = self._pick(self._jobs_in("open"), index)
        if job_id is None:
            return
        self.market.cancelJob(job_id, {"from": self.job_buyer})
        self._settle_for_buyer(self.jobs[job_id], slash=False)
        self._count("cancel")

    def rule_dispute(self, index="st_index"):
        job_id = self._pick(self._jobs_in("submitted"), index)
        if job_id is None:
            return
        job = self.jobs[job_id]
        if self._now() + MARGIN < job["end"]:
            self.market.dispute(job_id, {"from": self.job_buyer})
            job["status"] = "disputed"
            self._pay(self.job_buyer, -self._bond(job))
            self._count("dispute")

    def rule_resolve(self, index="st_index", pay="st_bool"):
        job_id = self._pick(self._jobs_in("disputed"), index)
        if job_id is None:
            return
        job = self.jobs[job_id]
        self.market.resolveDispute(job_id, pay, {"from": self.admin})
        if pay:
            self._settle_for_provider(job, self._bond(job))
        else:
            self._settle_for_buyer(job, slash=True, bond=self._bond(job))
        self._count("resolve")

    def rule_settle(self):
        """Anyone settles every job that can be settled now."""
        now = self._now()
        for job_id, job in self.jobs.items():
            if job["status"] == "submitted" and now > job["end"] + MARGIN:
                self.market.finalize(job_id, {"from": self.job_buyer})
                self._settle_for_provider(job, 0)
                self._count("finalize")
            elif job["status"] in ("open", "accepted") and now > job["deadline"] + MARGIN:
                self.market.expire(job_id, {"from": self.job_buyer})
                self._count("expire " + job["status"])
                self._settle_for_buyer(job, slash=True)
            elif job["status"] == "disputed" and now > job["end"] + job["arbitration"] + MARGIN:
                self.market.settleStaleDispute(job_id, {"from": self.job_buyer})
                self._settle_for_buyer(job, slash=False, bond=self._bond(job))
                self._count("stale")

    def rule_settle_too_early_or_twice(self, index="st_index"):
        job_id = self._pick(self.jobs, index)
        if job_id is None:
            return
        job, now = self.jobs[job_id], self._now()
        if job["status"] in ("open", "accepted") and now + MARGIN < job["deadline"]:
            with brownie.reverts():
                self.market.expire(job_id, {"from": self.job_buyer})
        elif job["status"] == "settled" or (
            job["status"] == "submitted" and now + MARGIN < job["end"]
        ):
            with brownie.reverts():
                self.market.finalize(job_id, {"from": self.job_buyer})

    def rule_withdraw(self, index="st_index"):
        account = [self.provider, self.job_buyer][index % 2]
        owed = self.claims[account.address]
        if owed == 0:
            with brownie.reverts("NothingToWithdraw: "):
                self.market.withdraw(self.token, {"from": account})
            return
        assert self.market.withdraw(self.token, {"from": account}).return_value == owed
        self.claims[account.address] = 0
        self._pay(account, owed)
        self._count("withdraw")

    def rule_sleep(self, seconds="st_sleep"):
        chain.sleep(seconds)
        chain.mine()

    def rule_advance(self, index="st_index"):
        """Jump just past one of the next deadlines, window ends, stale times or expiries."""
        now, events = self._now(), []
        for job in self.jobs.values():
            if job["status"] in ("open", "accepted"):
                events.append(job["deadline"])
            elif job["status"] == "submitted":
                events.append(job["end"])
            elif job["status"] == "disputed":
                events.append(job["end"] + job["arbitration"])
        events += [c["expiry"] for c in self.channels.values()]
        events = sorted(e for e in events if e >= now)
        if events:
            chain.sleep(events[index % len(events)] - now + MARGIN + 1)
            chain.mine()
            self._count("advance")

    # ---- the end of every sequence: everything owed comes out, to the last wei
    def _drain(self):
        if self.stake:
            self.market.requestExit({"from": self.provider})
        chain.sleep(MAX_JOB_DURATION + 40 * DAY)
        chain.mine()
        for job_id, job in self.jobs.items():
            if job["status"] in ("open", "accepted"):
                self.market.expire(job_id, {"from": self.job_buyer})
                self._settle_for_buyer(job, slash=True)
            elif job["status"] == "submitted":
                self.market.finalize(job_id, {"from": self.job_buyer})
                self._settle_for_provider(job, 0)
            elif job["status"] == "disputed":
                self.market.settleStaleDispute(job_id, {"from": self.job_buyer})
                self._settle_for_buyer(job, slash=False, bond=self._bond(job))
        for channel_id, channel in self.channels.items():
            remaining = channel["deposit"] - channel["redeemed"]
            if remaining:
                self.market.reclaim(channel_id, {"from": channel["buyer"]})
                channel["deposit"] = channel["redeemed"]
                self._pay(channel["buyer"], remaining)
        for account in self.tracked:
            owed = self.claims[account.address]
            if owed:
                self.market.withdraw(self.token, {"from": account})
                self.claims[account.address] = 0
                self._pay(account, owed)
        if self.stake:
            assert self.market.withdrawStake({"from": self.provider}).return_value == self.stake
            self._pay(self.provider, self.stake)
            self.stake = 0
        assert self.token.balanceOf(self.market) == 0
        self.invariant_balances_match_model()

    # ---- invariants
    def invariant_market_holds_exactly_its_debts(self):
        channels = sum(c["deposit"] - c["redeemed"] for c in self.channels.values())
        jobs = sum(j["fee"] for j in self._jobs_in(*UNSETTLED).values())
        bonds = sum(self._bond(j) for j in self._jobs_in("disputed").values())
        claims = sum(self.claims.values())
        assert self.token.balanceOf(self.market) == channels + jobs + bonds + self.stake + claims

    def invariant_collateral_only_lost_to_accepted_jobs(self):
        info = self.market.getProvider(self.provider).dict()
        assert info["stake"] == self.stake
        assert info["locked"] == self._locked()

    def invariant_balances_match_model(self):
        for account in self.tracked:
            assert self.token.balanceOf(account) == self.expected[account.address], account
            assert self.market.claimable(account, self.token) == self.claims[account.address]

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
    stats = run_stateful(
        state_machine,
        MarketMachine,
        market,
        token,
        registered,
        licensed,
        admin,
        asset,
        algorithm,
        buyers,
        examples=20,
        steps=25,
    )
    print("\nstateful totals:", TOTALS, stats)
    if stats["examples"] >= 20:  # the derandomized sample reaches these paths
        for action in ("redeem", "redeem batch", "submit", "reclaim", "slash"):
            assert TOTALS.get(action, 0) > 0, (action, TOTALS)
