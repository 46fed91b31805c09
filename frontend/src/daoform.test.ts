import { describe, expect, it } from "vitest";
import { encodeFunctionData } from "viem";
import { BUILT_ABIS } from "./contracts";
import { daoConfig, parseMembers, type DaoForm } from "./daoform";

const A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const DDT = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const SALT = new Uint8Array(32).fill(1);

const form = (extra: Partial<DaoForm> = {}): DaoForm => ({
  name: "Harbour Collective", symbol: "HARBOUR", members: `${A} 60\n${B.toLowerCase()}, 40`, revenueToken: DDT,
  votingDelay: "2", votingPeriod: "120", executionDelay: "60", proposalThreshold: "0", quorumPercent: "40", ...extra,
});

describe("DataDAO creation form", () => {
  it("builds the factory's DAOConfig (the tuple e2e/stack.py sends)", () => {
    const config = daoConfig(form(), SALT);
    expect(config).toEqual({
      name: "Harbour Collective", symbol: "HARBOUR", members: [A, B], shares: [60n * 10n ** 18n, 40n * 10n ** 18n],
      revenueTokens: [DDT],
      settings: { votingDelay: 2, votingPeriod: 120, executionDelay: 60, proposalThreshold: 0n, quorumNumerator: 40n },
      salt: `0x${"01".repeat(32)}`,
    });
    const abi = BUILT_ABIS.DataDAOFactory!;
    expect(encodeFunctionData({ abi, functionName: "createDAO", args: [config] })).toMatch(/^0x[0-9a-f]+$/);
  });

  it("refuses what the factory would refuse or what makes no DAO, each in one line", () => {
    const cases: [Partial<DaoForm>, RegExp][] = [
      [{ name: " " }, /Name the DataDAO/],
      [{ symbol: "HAR BOUR" }, /share symbol must be 1 to 11 letters/],
      [{ members: "" }, /at least one member/],
      [{ members: `${A} 60\n${A} 1` }, /listed twice \(line 2\)/],
      [{ members: `${A} 0` }, /would get no shares/],
      [{ members: `${A}` }, /line 1 .* must be "0xADDRESS SHARES"/],
      [{ members: `0x12 5` }, /member on line 1 must be an address/],
      [{ quorumPercent: "101" }, /quorum must be a whole percent from 1 to 100/],
      [{ votingPeriod: "0" }, /voting period must be at least 1 second/],
      [{ votingDelay: "1.5" }, /voting delay must be a whole number of seconds/],
      [{ proposalThreshold: "101" }, /more than all the shares/],
      [{ revenueToken: "DDT" }, /revenue token must be an address/],
    ];
    for (const [change, message] of cases) {
      let thrown: Error | null = null;
      try {
        daoConfig(form(change), SALT);
      } catch (error) {
        thrown = error as Error;
      }
      expect(thrown?.message, JSON.stringify(change)).toMatch(message);
      expect(thrown?.message).not.toContain("\n");
    }
  });

  it("takes no revenue token when none is picked", () => {
    expect(daoConfig(form({ revenueToken: "" }), SALT).revenueTokens).toEqual([]);
    expect(parseMembers(`${A} 0.5`).shares).toEqual([5n * 10n ** 17n]);
  });
});
