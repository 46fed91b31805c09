import { describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import { decodeFunctionData, encodeFunctionData, recoverTypedDataAddress } from "viem";
import { BUILT_ABIS } from "./contracts";
import { buyArguments, permitArgument, permitTypedData } from "./market";
import { offerPriceText, offerTermsText, rememberToken } from "./offers";
import { formatDuration } from "./format";
import { runTransaction, type TxUpdate } from "./tx";

const OWNER = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("EIP-2612 permit", () => {
  it("typed data signs and recovers, and splits into the registry's Permit struct", async () => {
    const typed = permitTypedData(
      { name: "DataDAO Dev Token", version: "1", chainId: 1337, verifyingContract: TOKEN },
      { owner: OWNER.address, spender: REGISTRY, value: 10n ** 19n, nonce: 0n, deadline: 1_900_000_000n },
    );
    const signature = await OWNER.signTypedData(typed);
    expect(await recoverTypedDataAddress({ ...typed, signature })).toBe(OWNER.address);
    const permit = permitArgument(signature, 10n ** 19n, 1_900_000_000n);
    expect([27, 28]).toContain(permit.v);
    expect(permit.r).toMatch(/^0x[0-9a-f]{64}$/);
    expect(permit).toMatchObject({ value: 10n ** 19n, deadline: 1_900_000_000n });
  });
});

describe("buying on the terms shown", () => {
  const shown = { offer_id: 2, token: TOKEN.toLowerCase(), price: "10000000000000000000", duration: 30 * 86400, scope: "compute" as const };

  it("passes every term the buyer saw to the registry's 7-argument buy", () => {
    const abi = BUILT_ABIS.AssetRegistry!;
    const args = buyArguments(7n, shown, OWNER.address);
    expect(args).toEqual([7n, 2n, OWNER.address, TOKEN, 10n ** 19n, 30n * 86400n, 1]);
    const data = encodeFunctionData({ abi, functionName: "buy", args });
    const decoded = decodeFunctionData({ abi, data });
    expect(decoded.functionName).toBe("buy");
    expect(decoded.args).toEqual(args); // the overload with token, duration and scope
  });

  it("refuses a scope it does not know rather than guess", () => {
    expect(() => buyArguments(1n, { ...shown, scope: "stream" as never }, OWNER.address)).toThrow(/scope/);
  });
});

describe("offers in words", () => {
  it("shows symbol and decimals once the token is known", () => {
    const other = "0x000000000000000000000000000000000000dEaD";
    expect(offerPriceText({ price: "2500000000000000000", token: other })).toBe("2.5 of token 0x0000…dEaD");
    rememberToken({ address: TOKEN, symbol: "DDT", decimals: 18 });
    expect(offerPriceText({ price: "10000000000000000000", token: TOKEN.toLowerCase() })).toBe("10 DDT");
    expect(offerPriceText({ price: "0", token: TOKEN })).toBe("free");
    expect(offerTermsText({ scope: "download", duration: 30 * 86400 }, formatDuration)).toBe("download license for 1 month");
    expect(offerTermsText({ scope: "compute", duration: 0 }, formatDuration)).toBe("compute license perpetual");
  });
});

describe("transactions in words", () => {
  const run = async (send: () => Promise<`0x${string}`>, status: "success" | "reverted" = "success") => {
    const updates: TxUpdate[] = [];
    const last = await runTransaction({ label: "Buy the license", send, wait: async () => ({ status, blockNumber: 7n }), onUpdate: (u) => updates.push(u) });
    return { updates, last };
  };
  const HASH = `0x${"ab".repeat(32)}` as const;

  it("wallet → pending → confirmed", async () => {
    const { updates } = await run(async () => HASH);
    expect(updates.map((u) => u.phase)).toEqual(["wallet", "pending", "confirmed"]);
    expect(updates[1]!.message).toBe("Buy the license: sent (0xabab…abab), pending — waiting for the network to confirm it…");
    expect(updates[2]!.message).toBe("Buy the license: confirmed in block 7.");
  });

  it("rejected in the wallet", async () => {
    const { last } = await run(() => Promise.reject({ code: 4001, message: "User rejected" }));
    expect(last.phase).toBe("failed");
    expect(last.message).toBe("Buy the license failed: You rejected the request in your wallet. Nothing was signed or sent.");
  });

  it("reverted on chain", async () => {
    const { last } = await run(async () => HASH, "reverted");
    expect(last.message).toMatch(/failed: the contract reverted it in block 7/);
  });
});
