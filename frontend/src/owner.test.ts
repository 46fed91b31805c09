import { describe, expect, it } from "vitest";
import { decodeFunctionData } from "viem";
import { BUILT_ABIS } from "./contracts";
import { grantExpiry, InvalidFormError, nextOfferId, offerInput, ownerCalls, parseAccount, parseDuration, proposalOf } from "./owner";

const DDT = { address: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", symbol: "DDT", decimals: 18 };
const USDC = { address: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", symbol: "USDC", decimals: 6 };
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const BUYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("owner forms", () => {
  it("reads durations as the CLI does", () => {
    expect(parseDuration("30d")).toBe(30 * 86400);
    expect(parseDuration(" 12h ")).toBe(43200);
    expect(parseDuration("3600")).toBe(3600);
    expect(parseDuration("perpetual")).toBe(0);
    expect(() => parseDuration("a month")).toThrow(/Duration "a month" is not understood: use e\.g\. 30d/);
    expect(() => parseDuration("99999999999999999999y")).toThrow(/too long/);
  });

  it("turns the offer form into the registry's OfferInput, in the token's decimals", () => {
    expect(offerInput({ token: USDC.address.toLowerCase(), price: "2.5", duration: "7d", scope: "compute" }, [DDT, USDC]))
      .toEqual({ token: USDC.address, price: 2_500_000n, duration: 604800n, scope: 1 });
  });

  it("refuses a token the registry does not take, a bad price, a bad scope, each in one line", () => {
    const bad = (form: Partial<Parameters<typeof offerInput>[0]>) => () =>
      offerInput({ token: DDT.address, price: "1", duration: "0", scope: "download", ...form }, [DDT]);
    expect(bad({ token: USDC.address })).toThrow(/does not take token 0x9fE4.* as payment \(it takes DDT\)/);
    expect(bad({ price: "1.5.0" })).toThrow(InvalidFormError);
    expect(bad({ price: "abc" })).toThrow(/^Price: "abc" is not an amount\.$/);
    expect(bad({ price: "79228162514.264337593543950336" })).toThrow(/too large/);
    expect(bad({ scope: "stream" })).toThrow(/Scope "stream" is not one of download, compute/);
    for (const form of [{ token: "x" }, { price: "" }, { scope: "" }, { duration: "x" }]) {
      try {
        bad(form)();
      } catch (error) {
        expect((error as Error).message).not.toContain("\n");
      }
    }
  });

  it("checks addresses", () => {
    expect(parseAccount(BUYER.toLowerCase(), "licensee")).toBe(BUYER);
    expect(() => parseAccount("0x123", "licensee")).toThrow(/licensee must be an address/);
    expect(() => parseAccount(`0x${"0".repeat(40)}`, "licensee")).toThrow(/zero address/);
  });

  it("computes a grant's end from the chain's time, and refuses one in the past or without an end", () => {
    const now = 1_800_000_000n;
    expect(grantExpiry("30d", now)).toBe(now + 30n * 86400n);
    expect(grantExpiry("2030-01-01", now)).toBe(BigInt(Date.UTC(2030, 0, 1) / 1000));
    expect(() => grantExpiry("2020-01-01", now)).toThrow(/has passed/);
    expect(() => grantExpiry("0", now)).toThrow(/needs an end/);
  });

  it("adds the next offer after the highest id", () => {
    expect(nextOfferId([])).toBe(1);
    expect(nextOfferId([{ offer_id: 1 }, { offer_id: 3 }])).toBe(4);
  });
});

describe("owner calls", () => {
  const abi = BUILT_ABIS.AssetRegistry!;

  it("encode to the registry's functions, as a DataDAO member proposes them", () => {
    const input = { token: DDT.address as `0x${string}`, price: 10n ** 18n, duration: 86400n, scope: 0 };
    const cases = [
      [ownerCalls.setOffer(7n, 2, input, true), "setOffer", [7n, 2n, input]],
      [ownerCalls.setOfferActive(7n, 2, false), "setOfferActive", [7n, 2n, false]],
      [ownerCalls.grant(7n, BUYER, 1, 1_900_000_000n), "grant", [7n, BUYER, 1, 1_900_000_000n]],
      [ownerCalls.revokeGrant(7n, BUYER, 0), "revokeGrant", [7n, BUYER, 0]],
      [ownerCalls.retire(7n), "retire", [7n]],
    ] as const;
    for (const [call, name, args] of cases) {
      const proposal = proposalOf(call, REGISTRY, abi);
      expect(proposal.target).toBe(REGISTRY);
      const decoded = decodeFunctionData({ abi, data: proposal.calldata });
      expect(decoded.functionName).toBe(name);
      expect(decoded.args).toEqual(args);
    }
    expect(ownerCalls.setOffer(7n, 2, input, true).label).toBe("Add offer #2 on asset #7");
    expect(ownerCalls.setOfferActive(7n, 1, false).label).toBe("Pause offer #1 of asset #7");
  });
});
