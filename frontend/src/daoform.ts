// The DataDAO creation form → the DataDAOFactory's DAOConfig (contracts/interfaces/
// IDataDAOFactory.sol): name, symbol, members and their shares, revenue tokens, voting settings
// and a salt. Checked here, each problem in one line, before the wallet opens.
import { getAddress, toHex, type Address, type Hex } from "viem";
import { parseAmount } from "./format";
import { InvalidFormError, parseAccount } from "./owner";

export interface DaoForm {
  name: string;
  symbol: string;
  /** one member a line: `0xADDRESS SHARES` (shares in whole units, 18 decimals) */
  members: string;
  revenueToken: string;
  votingDelay: string;
  votingPeriod: string;
  executionDelay: string;
  proposalThreshold: string;
  quorumPercent: string;
}

export interface DaoSettings {
  votingDelay: number;
  votingPeriod: number;
  executionDelay: number;
  proposalThreshold: bigint;
  quorumNumerator: bigint;
}

export interface DaoConfig {
  name: string;
  symbol: string;
  members: Address[];
  shares: bigint[];
  revenueTokens: Address[];
  settings: DaoSettings;
  salt: Hex;
}

const SHARE_DECIMALS = 18;
const MAX_UINT32 = 2 ** 32 - 1;
const MAX_UINT48 = 2 ** 48 - 1;

function seconds(text: string, what: string, max: number, min = 0): number {
  const cleaned = text.trim();
  if (!/^\d+$/.test(cleaned)) throw new InvalidFormError(`The ${what} must be a whole number of seconds, not "${cleaned}".`);
  const value = Number(cleaned);
  if (value < min) throw new InvalidFormError(`The ${what} must be at least ${min} second${min === 1 ? "" : "s"}.`);
  if (value > max) throw new InvalidFormError(`The ${what} is too long.`);
  return value;
}

/** `0xabc… 60` lines → members and shares (base units); duplicates and zero shares refused. */
export function parseMembers(text: string): { members: Address[]; shares: bigint[] } {
  const members: Address[] = [];
  const shares: bigint[] = [];
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  if (lines.length === 0) throw new InvalidFormError("A DataDAO needs at least one member: one line each, \"0xADDRESS SHARES\".");
  lines.forEach((line, index) => {
    const [address = "", amount = "", ...rest] = line.split(/[\s,;]+/);
    if (!amount || rest.length) throw new InvalidFormError(`Member line ${index + 1} ("${line}") must be "0xADDRESS SHARES".`);
    const member = parseAccount(address, `member on line ${index + 1}`);
    if (members.includes(member)) throw new InvalidFormError(`Member ${member} is listed twice (line ${index + 1}).`);
    let value: bigint;
    try {
      value = parseAmount(amount, SHARE_DECIMALS);
    } catch (error) {
      throw new InvalidFormError(`Shares on line ${index + 1}: ${(error as Error).message}.`);
    }
    if (value === 0n) throw new InvalidFormError(`Member ${member} would get no shares (line ${index + 1}).`);
    members.push(member);
    shares.push(value);
  });
  return { members, shares };
}

/** The factory's DAOConfig from the form; `salt` (32 bytes) fixes the addresses with the creator's. */
export function daoConfig(form: DaoForm, salt: Uint8Array): DaoConfig {
  const name = form.name.trim();
  const symbol = form.symbol.trim();
  if (!name) throw new InvalidFormError("Name the DataDAO (also its share token's name).");
  if (!/^[A-Za-z0-9]{1,11}$/.test(symbol)) throw new InvalidFormError(`The share symbol must be 1 to 11 letters or digits, not "${symbol}".`);
  const { members, shares } = parseMembers(form.members);
  const revenueTokens = form.revenueToken.trim() ? [parseAccount(form.revenueToken, "revenue token")] : [];
  const quorumText = form.quorumPercent.trim();
  if (!/^\d+$/.test(quorumText) || Number(quorumText) < 1 || Number(quorumText) > 100) {
    throw new InvalidFormError(`The quorum must be a whole percent from 1 to 100, not "${quorumText}".`);
  }
  let proposalThreshold: bigint;
  try {
    proposalThreshold = parseAmount(form.proposalThreshold.trim() || "0", SHARE_DECIMALS);
  } catch (error) {
    throw new InvalidFormError(`Proposal threshold: ${(error as Error).message}.`);
  }
  const total = shares.reduce((sum, value) => sum + value, 0n);
  if (proposalThreshold > total) throw new InvalidFormError("The proposal threshold is more than all the shares: no one could propose.");
  if (salt.length !== 32) throw new InvalidFormError("The salt must be 32 bytes.");
  return {
    name,
    symbol,
    members,
    shares,
    revenueTokens: revenueTokens.map((token) => getAddress(token)),
    settings: {
      votingDelay: seconds(form.votingDelay, "voting delay", MAX_UINT48),
      votingPeriod: seconds(form.votingPeriod, "voting period", MAX_UINT32, 1),
      executionDelay: seconds(form.executionDelay, "execution delay", MAX_UINT32),
      proposalThreshold,
      quorumNumerator: BigInt(quorumText),
    },
    salt: toHex(salt),
  };
}
