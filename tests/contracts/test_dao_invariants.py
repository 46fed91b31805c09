"""DataDAO money equations under random sequences of member actions.

Rules are what members and buyers do: pay revenue to the DAO (a sale or a deposit), collect it,
withdraw, move shares, and admit a contributor by a full proposal (propose, vote, execute).
A Python model keeps each member's fair part of every revenue payment (amount x shares held when
it arrived / supply, exact fractions). Invariants: withdrawn + withdrawable + dust == revenue paid
to the DAO with 0 <= dust <= a rounding bound (so together members can never take more than was
paid in); what is not withdrawn sits in the share token or in the registry, to the unit; each
member's withdrawn + withdrawable is their fair part up to rounding (so a newcomer gets nothing of
earlier revenue); a withdrawal pays exactly what was withdrawable and leaves nothing to withdraw
again; shares and votes follow the model.

Rounding: revenue per share is kept scaled by 1e18 (Synthetix), so one distribution can leave up
to one unit per whole share unassigned (the remainder is carried into the next distribution) and
each settlement floors once: the bounds below are (steps + 1) x (supply in whole shares + members).
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Any

import pytest
from brownie.test import strategy
from conftest import DATASET, PRICE, PROTOCOL_FEE_BPS, buy, cid, offer_input
from dao_helpers import FOR, SHARE, Proposal, create_dao, end_voting, pass_proposal, start_voting
from fuzz_settings import run_stateful

OWNER_CUT = PRICE - PRICE * PROTOCOL_FEE_BPS // 10_000
INITIAL_SHARES = [50 * SHARE, 30 * SHARE, 7 * SHARE]
RULES = ("sale", "deposit", "collect", "withdraw", "transfer", "admit")
# Rules that did something, over all examples: the short sample must reach every one.
REACHED: dict[str, int] = defaultdict(int)


@pytest.fixture(scope="module")
def factory(registry: Any, token: Any, admin: Any) -> Any:
    from scripts.deploy_modules import deploy_dao_modules

    core = {"AssetRegistry": registry, "TestToken": token}
    return deploy_dao_modules(core, admin)["DataDAOFactory"]


class DAOMoneyStateMachine:
    st_actor = strategy("uint8", max_value=4)
    st_other = strategy("uint8", max_value=4)
    st_amount = strategy("uint256", min_value=1, max_value=10**21)
    st_percent = strategy("uint8", min_value=1, max_value=100)
    st_shares = strategy("uint256", min_value=1, max_value=100 * SHARE)

    def __init__(cls, accounts: Any, factory: Any, registry: Any, token: Any, buyer: Any) -> None:
        cls.actors = list(accounts[4:9])  # three founding members, two outsiders
        cls.registry = registry
        cls.token = token
        cls.buyer = buyer
        cls.dao, cls.shares, _ = create_dao(
            factory, cls.actors[0], cls.actors[:3], INITIAL_SHARES, [token]
        )
        cls.asset = registry.assetCount() + 1
        publish = registry.publish.encode_input(
            DATASET, cid("pool"), cid("pool-meta"), 0, [offer_input(token)]
        )
        pass_proposal(cls.dao, [(registry, publish)], "publish the pool", cls.actors[:2])

    def setup(self) -> None:
        self.balance = {a.address: self.shares.balanceOf(a) for a in self.actors}
        self.fair: dict[str, Fraction] = defaultdict(Fraction)
        self.withdrawn: dict[str, int] = defaultdict(int)
        self.paid_in = 0
        self.steps = 0
        self.admissions = 0

    # ---- helpers
    def _rounding_bound(self) -> int:
        return (self.steps + 1) * (sum(self.balance.values()) // SHARE + len(self.actors) + 1)

    def _revenue(self, amount: int) -> None:
        supply = sum(self.balance.values())
        for address, held in self.balance.items():
            self.fair[address] += Fraction(amount * held, supply)
        self.paid_in += amount

    # ---- rules
    def rule_sale(self) -> None:
        buy(self.registry, self.asset, 1, self.buyer, self.buyer, max_price=PRICE)
        self._revenue(OWNER_CUT)
        self.steps += 1
        REACHED["sale"] += 1

    def rule_deposit(self, st_amount: int) -> None:
        self.registry.depositFor(self.dao, self.token, st_amount, {"from": self.buyer})
        self._revenue(st_amount)
        self.steps += 1
        REACHED["deposit"] += 1

    def rule_collect(self, st_actor: int) -> None:
        self.dao.collect(self.token, {"from": self.actors[st_actor]})
        self.steps += 1
        REACHED["collect"] += 1

    def rule_withdraw(self, st_actor: int) -> None:
        member = self.actors[st_actor]
        expected = self.shares.withdrawable(self.token, member)
        before = self.token.balanceOf(member)
        self.shares.withdraw(self.token, {"from": member})
        received = self.token.balanceOf(member) - before
        assert received == expected
        assert self.shares.withdrawable(self.token, member) == 0
        self.withdrawn[member.address] += received
        self.steps += 1
        REACHED["withdraw"] += 1

    def rule_transfer(self, st_actor: int, st_other: int, st_percent: int) -> None:
        sender, receiver = self.actors[st_actor], self.actors[st_other]
        amount = self.balance[sender.address] * st_percent // 100
        if amount == 0 or sender == receiver:
            return
        self.shares.transfer(receiver, amount, {"from": sender})
        self.balance[sender.address] -= amount
        self.balance[receiver.address] += amount
        self.steps += 1
        REACHED["transfer"] += 1

    def rule_admit_by_proposal(self, st_other: int, st_shares: int) -> None:
        if self.admissions >= 2:  # a full vote is a dozen transactions: keep the run short
            return
        contributor = self.actors[st_other]
        digest, codec = cid(f"contribution-{self.steps}")
        call = self.dao.admitContributor.encode_input(contributor, st_shares, digest, codec)
        proposal = Proposal([(self.dao, call)], f"admit for contribution {self.steps}")
        voters = [a for a in self.actors if self.balance[a.address] > 0]
        proposal.propose(self.dao, voters[0])
        start_voting()
        for voter in voters:
            self.dao.castVote(proposal.id, FOR, {"from": voter})
        end_voting()
        tx = proposal.execute(self.dao, voters[0])
        assert tx.events["ContributorAdmitted"]["member"] == contributor
        self.balance[contributor.address] += st_shares
        self.admissions += 1
        self.steps += 1
        REACHED["admit"] += 1

    # ---- invariants
    def invariant_money_adds_up(self) -> None:
        withdrawable = {a.address: self.shares.withdrawable(self.token, a) for a in self.actors}
        dust = self.paid_in - sum(self.withdrawn.values()) - sum(withdrawable.values())
        assert 0 <= dust <= self._rounding_bound()
        # What is not withdrawn is in the share token or still in the registry, to the unit.
        uncollected = self.registry.payoutBalance(self.dao, self.token)
        held = self.token.balanceOf(self.shares)
        assert held == self.shares.revenueHeld(self.token)
        assert sum(self.withdrawn.values()) + held + uncollected == self.paid_in

    def invariant_everyone_gets_their_fair_part(self) -> None:
        for actor in self.actors:
            got = self.withdrawn[actor.address] + self.shares.withdrawable(self.token, actor)
            fair = self.fair[actor.address]
            # Either way by rounding only: the remainder one distribution carries into the next
            # may reach holders of the next one.
            assert abs(fair - got) <= self._rounding_bound()

    def invariant_shares_and_votes_match_model(self) -> None:
        for actor in self.actors:
            assert self.shares.balanceOf(actor) == self.balance[actor.address]
            assert self.shares.getVotes(actor) == self.balance[actor.address]


def test_dao_revenue_is_shared_exactly_under_random_use(
    state_machine: Any, accounts: Any, factory: Any, registry: Any, token: Any, buyer: Any
) -> None:
    stats = run_stateful(
        state_machine,
        DAOMoneyStateMachine,
        accounts,
        factory,
        registry,
        token,
        buyer,
        # derandomize: the same runs every time (a random draw once overran Hypothesis's
        # buffer and failed the data_too_large health check in CI)
        examples=15,
        steps=15,
    )
    print("\nrules reached:", dict(REACHED), stats)
    assert all(REACHED[rule] > 0 for rule in RULES), dict(REACHED)
