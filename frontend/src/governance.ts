// DataDAO proposals and members as the DAO page shows them: what a proposal's state means at the
// chain's current time and which step it offers next (vote, queue, execute), and who the members
// are (net balances from the share token's Transfer events). Pure functions: the page reads the
// chain and renders, these decide.
import type { Address } from "viem";
import { PROPOSAL_STATES } from "./contracts";
import { formatTimestamp } from "./format";

/** IGovernor.ProposalState */
export const PENDING = 0;
export const ACTIVE = 1;
export const SUCCEEDED = 4;
export const QUEUED = 5;
export const EXECUTED = 7;

/** GovernorCountingSimple's `support` values, in the order the page offers them. */
export const SUPPORT = [
  { value: 1, label: "For" },
  { value: 0, label: "Against" },
  { value: 2, label: "Abstain" },
] as const;

export interface ProposalTiming {
  /** IGovernor.ProposalState, as `state(id)` returns it */
  state: number;
  /** seconds (the DataDAO's clock is ERC-6372 `mode=timestamp`) */
  voteStart: bigint;
  voteEnd: bigint;
  /** 0 unless queued */
  eta: bigint;
  needsQueuing: boolean;
  /** the chain's time: the latest block's timestamp, which is what `state` is computed at */
  now: bigint;
  /** has the connected account voted on it */
  hasVoted: boolean;
}

export type ProposalStep = "vote" | "queue" | "execute" | null;

/** The step a member can take on the proposal now, if any. */
export function proposalStep(p: ProposalTiming): ProposalStep {
  switch (p.state) {
    case ACTIVE:
      return p.hasVoted ? null : "vote";
    case SUCCEEDED:
      return p.needsQueuing ? "queue" : "execute";
    case QUEUED:
      return p.eta > 0n && p.now >= p.eta ? "execute" : null;
    default:
      return null;
  }
}

/** The state's name as OpenZeppelin's Governor calls it ("pending" … "executed"). */
export function proposalStateName(state: number): string {
  return PROPOSAL_STATES[state] ?? `state ${state}`;
}

/** The state in words, with the time of the next change: "active — voting closes at …". */
export function proposalStateText(p: ProposalTiming): string {
  const name = proposalStateName(p.state);
  switch (p.state) {
    case PENDING:
      return `${name} — voting opens after ${formatTimestamp(p.voteStart)}`;
    case ACTIVE:
      return `${name} — voting closes at ${formatTimestamp(p.voteEnd)}`;
    case SUCCEEDED:
      return p.needsQueuing ? `${name} — queue it, then execute it after the delay` : `${name} — ready to execute`;
    case QUEUED:
      return p.now >= p.eta ? `${name} — ready to execute` : `${name} — executable from ${formatTimestamp(p.eta)}`;
    default:
      return name;
  }
}

export interface ShareTransfer {
  from: Address;
  to: Address;
  value: bigint;
}

export interface Member {
  address: Address;
  shares: bigint;
}

const ZERO = "0x0000000000000000000000000000000000000000";

/** Holders with shares left after every transfer (mints from 0x0 included), most shares first. */
export function membersFromTransfers(transfers: readonly ShareTransfer[]): Member[] {
  const balances = new Map<string, { address: Address; shares: bigint }>();
  const move = (address: Address, delta: bigint) => {
    if (address.toLowerCase() === ZERO) return;
    const key = address.toLowerCase();
    const entry = balances.get(key) ?? { address, shares: 0n };
    entry.shares += delta;
    balances.set(key, entry);
  };
  for (const { from, to, value } of transfers) {
    move(from, -value);
    move(to, value);
  }
  return [...balances.values()]
    .filter((member) => member.shares > 0n)
    .sort((a, b) => (a.shares === b.shares ? a.address.toLowerCase().localeCompare(b.address.toLowerCase()) : a.shares > b.shares ? -1 : 1));
}

/** `60, 100` → "60 %"; one decimal when it is not whole ("33.3 %"). */
export function shareOfSupply(shares: bigint, supply: bigint): string {
  if (supply === 0n) return "—";
  const tenths = (shares * 1000n) / supply;
  return tenths % 10n === 0n ? `${tenths / 10n} %` : `${tenths / 10n}.${tenths % 10n} %`;
}
