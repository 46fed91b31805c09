import { describe, expect, it } from "vitest";
import { membersFromTransfers, proposalStateText, proposalStep, shareOfSupply, type ProposalTiming } from "./governance";

const A = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
const B = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const C = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const ZERO = "0x0000000000000000000000000000000000000000";
const T = 1_800_000_000n;

const timing = (over: Partial<ProposalTiming>): ProposalTiming => ({
  state: 0, voteStart: T + 2n, voteEnd: T + 122n, eta: 0n, needsQueuing: false, now: T, hasVoted: false, ...over,
});

describe("proposal steps", () => {
  it("offers the vote while active and until the account voted", () => {
    expect(proposalStep(timing({ state: 0 }))).toBeNull();
    expect(proposalStep(timing({ state: 1 }))).toBe("vote");
    expect(proposalStep(timing({ state: 1, hasVoted: true }))).toBeNull();
  });

  it("queues first when the DAO has an execution delay, executes from the eta", () => {
    expect(proposalStep(timing({ state: 4, needsQueuing: true }))).toBe("queue");
    expect(proposalStep(timing({ state: 4, needsQueuing: false }))).toBe("execute");
    expect(proposalStep(timing({ state: 5, eta: T + 60n, now: T + 59n }))).toBeNull();
    expect(proposalStep(timing({ state: 5, eta: T + 60n, now: T + 60n }))).toBe("execute");
  });

  it("offers nothing once decided otherwise", () => {
    for (const state of [2, 3, 6, 7]) expect(proposalStep(timing({ state, needsQueuing: true, eta: T, now: T }))).toBeNull();
  });

  it("says when the state changes next, in the chain's time", () => {
    expect(proposalStateText(timing({ state: 0 }))).toBe("pending — voting opens after 2027-01-15 08:00:02 UTC");
    expect(proposalStateText(timing({ state: 1 }))).toBe("active — voting closes at 2027-01-15 08:02:02 UTC");
    expect(proposalStateText(timing({ state: 4, needsQueuing: true }))).toBe("succeeded — queue it, then execute it after the delay");
    expect(proposalStateText(timing({ state: 5, eta: T + 60n }))).toBe("queued — executable from 2027-01-15 08:01:00 UTC");
    expect(proposalStateText(timing({ state: 5, eta: T }))).toBe("queued — ready to execute");
    expect(proposalStateText(timing({ state: 7 }))).toBe("executed");
    expect(proposalStateText(timing({ state: 9 }))).toBe("state 9");
  });
});

describe("members", () => {
  it("are the holders left after mints and transfers, most shares first", () => {
    const members = membersFromTransfers([
      { from: ZERO, to: A, value: 60n },
      { from: ZERO, to: B, value: 40n },
      { from: B, to: C, value: 40n },
      { from: ZERO, to: C, value: 5n },
      { from: A.toLowerCase() as `0x${string}`, to: B, value: 10n },
    ]);
    expect(members).toEqual([{ address: A, shares: 50n }, { address: C, shares: 45n }, { address: B, shares: 10n }]);
  });

  it("show their part of the supply", () => {
    expect(shareOfSupply(60n, 100n)).toBe("60 %");
    expect(shareOfSupply(1n, 3n)).toBe("33.3 %");
    expect(shareOfSupply(0n, 0n)).toBe("—");
  });
});
